import type { HistoryAndWorkflowId } from '@temporalio/client';
import { DeterminismViolationError } from '@temporalio/workflow';
import { DefaultLogger, makeTelemetryFilterString, type ReplayResult, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../src/temporal/histories';
import { committedHistories, historyFile } from './committed-histories';

/**
 * The replay suite is only worth something if it fails on a breaking change, and `patched()` is only worth
 * something if it prevents that. Three proofs: a new first step added plainly breaks every recorded payment; the
 * same step behind `patched()` breaks none; and a real change from this repository's history (commit 996206a moved
 * webhook retries from Temporal's retry policy into the workflow, without `patched()`) breaks a payment recorded by
 * the workflow as it was just before (commit 975718c). See docs/changing-the-workflow.md.
 */
jest.setTimeout(120_000);
// Quiet: the bundler reports every step at INFO, and the SDK's core warns of each violation this test provokes.
beforeAll(() =>
  Runtime.install({
    logger: new DefaultLogger('WARN'),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
  }),
);

const histories = committedHistories().map((h) => h.replayable);

async function replayAgainst(
  workflowsPath: string,
  replayed: HistoryAndWorkflowId[] = histories,
): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for await (const result of Worker.runReplayHistories({ workflowsPath, replayName: 'determinism-test' }, replayed))
    results.push(result);
  return results;
}

it('a new step added without patched() breaks the replay of every recorded payment', async () => {
  const results = await replayAgainst(require.resolve('./changed-workflows/unversioned'));
  expect(results).toHaveLength(histories.length);
  for (const result of results) {
    expect(result.error).toBeInstanceOf(DeterminismViolationError);
    expect(result.error!.message).toMatch(/nondetermin/i);
  }
});

it('the same step behind patched() keeps every recorded payment replayable', async () => {
  const results = await replayAgainst(require.resolve('./changed-workflows/patched'));
  expect(results.filter((r) => r.error !== undefined)).toEqual([]);
  expect(results).toHaveLength(histories.length);
});

it('commit 996206a, without patched(), breaks a payment recorded by the workflow before it', async () => {
  // Recorded with the workflow of commit 975718c (plain-object activities; the webhook activity then returned
  // `{ httpStatus }` and Temporal retried it). Today's code reads that result as a failed delivery and schedules a
  // backoff timer where the history says the workflow completed.
  const [result] = await replayAgainst(WORKFLOWS_PATH, [historyFile('pre-change/approve-before-996206a.json')]);
  expect(result!.error).toBeInstanceOf(DeterminismViolationError);
  expect(result!.error!.message).toContain('Timer machine does not handle this event');
});
