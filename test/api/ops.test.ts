import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CreatedMerchant } from '../../src/auth/accounts';
import type { StuckPayment } from '../../src/temporal/stuck-payments';
import { cardDataIn, decodedHistory } from '../support/card-scan';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { paymentWorkflowId } from '../../workflows/vocabulary';
import { SETTLEFLOW_CLI } from '../support/cli';

/**
 * The incident-review loop as an operator runs it, through the built `settleflow` command against the test stack:
 * a payment left waiting in 3-D Secure is listed by `stuck` and by the Temporal UI's status filter, its history
 * is exported with `history` and replays cleanly with `replay`, and a history the code no longer matches fails.
 */
jest.setTimeout(90_000);

const exec = promisify(execFile);
let stack: StackClients;
let merchant: CreatedMerchant;
let otherMerchant: CreatedMerchant;
let tmp: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function settleflow(...args: string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [SETTLEFLOW_CLI, ...args], {
      env: process.env,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Starts a sandbox payment that waits for its 3-D Secure challenge (the account's timeout is 10 minutes). */
async function awaitingChallenge(owner: CreatedMerchant): Promise<{ tid: string; workflowId: string }> {
  const body = paymentBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  const answer = await post(stack.apiUrl, 'payment', owner.testKey, body);
  expect(answer.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
  return { tid: body.Tid!, workflowId: paymentWorkflowId('test', owner.merchantId, body.Tid!) };
}

/** What the Temporal Web UI's workflow list shows for a filter: it asks its server's HTTP API, as here. */
async function uiList(query: string): Promise<string[]> {
  const { uiUrl, namespace } = stack.config.temporal;
  const res = await fetch(`${uiUrl}/api/v1/namespaces/${namespace}/workflows?query=${encodeURIComponent(query)}`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { executions?: { execution: { workflowId: string } }[] };
  return (body.executions ?? []).map((e) => e.execution.workflowId);
}

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack, { threeDSTimeoutMs: 10 * 60_000 });
  otherMerchant = await newMerchant(stack, { threeDSTimeoutMs: 10 * 60_000 });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-ops-'));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await stack.close();
});

describe('a payment left waiting in 3-D Secure', () => {
  let waiting: { tid: string; workflowId: string };
  let captured: { tid: string; workflowId: string };

  beforeAll(async () => {
    waiting = await awaitingChallenge(merchant);
    await awaitingChallenge(otherMerchant);
    const body = paymentBody();
    expect((await post(stack.apiUrl, 'payment', merchant.testKey, body)).body.Result!.Status).toBe('captured');
    captured = { tid: body.Tid!, workflowId: paymentWorkflowId('test', merchant.merchantId, body.Tid!) };
  });

  it('is listed by `settleflow stuck`, with what it waits for, its age and its Temporal UI link', async () => {
    // Visibility is eventually consistent: the listing catches up within moments of the start.
    const listed = await eventually('the payment in `stuck`', async () => {
      const run = await settleflow('stuck', '--older-than', '0s', '--merchant', merchant.merchantId, '--json');
      expect(run.code).toBe(0);
      const payments = (JSON.parse(run.stdout) as { payments: StuckPayment[] }).payments;
      return payments.some((p) => p.tid === waiting.tid) ? payments : undefined;
    });
    // Captured inside its refund window is final, not stuck; another merchant's payment is filtered out.
    expect(listed.map((p) => p.tid)).toEqual([waiting.tid]);
    const [payment] = listed;
    const { uiUrl, namespace } = stack.config.temporal;
    expect(payment).toMatchObject({
      workflowId: waiting.workflowId,
      merchantId: merchant.merchantId,
      mode: 'test',
      status: 'pending',
      amountMinor: 1234,
      waitingFor: '3ds',
      pendingActivities: [],
      workflowTaskAttempt: 0,
    });
    expect(payment!.ageMs).toBeGreaterThanOrEqual(0);
    expect(payment!.ageMs).toBeLessThan(60_000);
    expect(payment!.uiUrl).toBe(
      `${uiUrl}/namespaces/${namespace}/workflows/${encodeURIComponent(waiting.workflowId)}/${payment!.runId}/history`,
    );
    expect((await fetch(payment!.uiUrl)).status).toBe(200);

    const table = await settleflow('stuck', '--older-than', '0', '--merchant', merchant.merchantId);
    expect(table.code).toBe(0);
    const row = table.stdout.split('\n').find((line) => line.startsWith(waiting.tid));
    expect(row).toContain('3DS challenge');
    expect(row).toContain(payment!.uiUrl);
    expect(table.stdout).toContain(`${uiUrl}/namespaces/${namespace}/workflows?query=`);

    // The default threshold is 15 minutes: a payment started seconds ago is not stuck yet.
    const fresh = await settleflow('stuck', '--merchant', merchant.merchantId);
    expect(fresh).toMatchObject({ code: 0, stdout: 'no payment has stayed non-final for more than 15 minutes\n' });
  });

  it('appears in the Temporal UI filtered by status, merchant and mode; the captured one under its own status', async () => {
    const filter = (status: string) =>
      `PaymentStatus="${status}" AND MerchantId="${merchant.merchantId}" AND PaymentMode="test"`;
    expect(
      await eventually('the UI list', async () => {
        const ids = await uiList(filter('pending'));
        return ids.includes(waiting.workflowId) ? ids : undefined;
      }),
    ).toEqual([waiting.workflowId]);
    // The workflow keeps the attribute current: the captured payment has left `pending` for `captured`.
    expect(
      await eventually('the captured one', async () => {
        const ids = await uiList(filter('captured'));
        return ids.length > 0 ? ids : undefined;
      }),
    ).toEqual([captured.workflowId]);
  });

  it('has a history that `settleflow history` exports and `settleflow replay` replays cleanly, from the file and from the server', async () => {
    const exported = await settleflow('history', waiting.workflowId);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toBe('');
    const history = JSON.parse(exported.stdout) as { events: { eventType: string }[] };
    expect(history.events[0]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(cardDataIn('the exported history', decodedHistory(JSON.parse(exported.stdout)))).toEqual([]);
    const file = path.join(tmp, 'waiting.json');
    writeFileSync(file, exported.stdout);

    const replayed = await settleflow('replay', file, waiting.workflowId, captured.workflowId);
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.stdout.split('\n').filter((line) => /^(ok|FAIL) /.test(line))).toEqual([
      `ok   ${file}`,
      `ok   ${waiting.workflowId}`,
      `ok   ${captured.workflowId}`,
    ]);
  });

  it('a history the workflow code no longer matches fails the replay with a non-zero exit', async () => {
    const file = path.join(tmp, 'waiting.json');
    // The captured payment's history: it has processor activities (store writes are local, recorded as markers).
    const exported = await settleflow('history', captured.workflowId);
    expect(exported.code).toBe(0);
    const history = JSON.parse(exported.stdout) as { events: Record<string, { activityType?: { name: string } }>[] };
    // As if the code that wrote this history had scheduled another activity at that point.
    const scheduled = history.events.find((e) => e.activityTaskScheduledEventAttributes)!;
    scheduled.activityTaskScheduledEventAttributes!.activityType!.name = 'screenPayment';
    const tampered = path.join(tmp, 'tampered.json');
    writeFileSync(tampered, JSON.stringify(history));

    const run = await settleflow('replay', tampered, file);
    expect(run.code).toBe(1);
    const lines = run.stdout.split('\n');
    expect(lines).toContain(`ok   ${file}`);
    expect(lines.find((line) => line.startsWith(`FAIL ${tampered}: DeterminismViolationError: `))).toMatch(
      /screenPayment/,
    );

    const json = await settleflow('replay', tampered, path.join(tmp, 'missing.json'), '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, replayed: 2, failed: 2 });
  });
});
