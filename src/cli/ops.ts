import { type Command, InvalidArgumentError, Option } from 'commander';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import { DefaultLogger, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import ms from 'ms';
import {
  cardNumbersIn,
  exportHistory,
  isHistoryFile,
  readHistoryFile,
  replayHistories,
  type ReplayVerdict,
} from '../temporal/histories';
import { findStuckPayments, type StuckPayment, workflowListUiUrl } from '../temporal/stuck-payments';
import { duration, positiveInteger, print, withTemporal } from './shared';

/** `stuck`, `history` and `replay`: finding payments that do not move, and reviewing their histories. */
export function registerOpsCommands(program: Command): void {
  registerStuck(program);
  registerHistory(program);
  registerReplay(program);
}

const WAITING_LABELS: Record<StuckPayment['waitingFor'], string> = {
  '3ds': '3DS challenge',
  processor: 'processor',
  webhook: 'webhook delivery',
  'refund-window': 'refund window',
  nothing: 'nothing (closing)',
  unknown: 'unknown (no worker answered the query)',
};

/** `2h 05m`, `16m 30s`, `45s`: precise enough to compare with a 15-minute 3DS timeout at a glance. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  const pad = (n: number) => String(n).padStart(2, '0');
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(s % 60)}s`;
  return `${s}s`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
  );
}

/** What the retries say, under the row: the processor's last error, or workflow code failing on its history. */
function clues(payment: StuckPayment): string[] {
  const lines = payment.pendingActivities.map(
    (a) =>
      `    activity ${a.type}, attempt ${a.attempt}${a.lastFailure ? `: ${a.lastFailure}` : ''}${a.nextAttemptAt ? ` (next try ${a.nextAttemptAt})` : ''}`,
  );
  if (payment.workflowTaskAttempt > 1) {
    lines.push(
      `    workflow task failing, attempt ${payment.workflowTaskAttempt}: see the worker log and \`settleflow replay ${payment.workflowId}\``,
    );
  }
  return lines;
}

function registerStuck(program: Command): void {
  program
    .command('stuck')
    .description('payments not final (pending, authorized) for longer than --older-than, with what each waits for')
    .option('--older-than <duration>', 'started at least this long ago (0 lists every open one)', duration, 15 * 60_000)
    .option('--merchant <merchantId>', 'only this merchant')
    .addOption(new Option('--mode <mode>', 'only sandbox (test) or live payments').choices(['test', 'live']))
    .option('--limit <n>', 'inspect at most this many payments', positiveInteger, 200)
    .option('--json', 'machine-readable output')
    .action((opts: { olderThan: number; merchant?: string; mode?: 'test' | 'live'; limit: number; json?: boolean }) =>
      withTemporal(async ({ client }, config) => {
        const now = new Date();
        const report = await findStuckPayments(client, {
          namespace: config.temporal.namespace,
          uiUrl: config.temporal.uiUrl,
          merchantId: opts.merchant,
          mode: opts.mode,
          startedBefore: opts.olderThan > 0 ? new Date(now.getTime() - opts.olderThan) : undefined,
          limit: opts.limit,
          now,
        });
        const listUrl = workflowListUiUrl(config.temporal.uiUrl, config.temporal.namespace, report.query);
        if (opts.json) return print(true, { ...report, uiListUrl: listUrl }, '');
        if (report.payments.length === 0) {
          return console.log(
            opts.olderThan > 0
              ? `no payment has stayed non-final for more than ${ms(opts.olderThan, { long: true })}`
              : 'no non-final payment',
          );
        }
        const rows = report.payments.map((p) => [
          p.tid,
          p.merchantId,
          p.mode,
          p.status,
          WAITING_LABELS[p.waitingFor],
          formatAge(p.ageMs),
          p.uiUrl,
        ]);
        const lines = table([['TID', 'MERCHANT', 'MODE', 'STATUS', 'WAITING FOR', 'AGE', 'TEMPORAL UI'], ...rows]);
        console.log(`${report.payments.length}${report.truncated ? '+' : ''} payment(s) not final, oldest first:\n`);
        console.log(lines[0]);
        report.payments.forEach((payment, i) => console.log([lines[i + 1], ...clues(payment)].join('\n')));
        if (report.truncated)
          console.log(`\nOnly the first ${opts.limit} inspected: narrow with --merchant/--mode or raise --limit.`);
        console.log(`\nThe same list in the Temporal UI: ${listUrl}`);
      }),
    );
}

function registerHistory(program: Command): void {
  program
    .command('history <workflowId>')
    .description('print a workflow history as JSON (replayable: settleflow history ID > file.json)')
    .option('--run-id <runId>', 'a specific run (default: the latest)')
    .action((workflowId: string, opts: { runId?: string }) =>
      withTemporal(async ({ client }) => {
        const history = await exportHistory(client, workflowId, opts.runId);
        process.stdout.write(`${history}\n`);
        // Card data never enters a history by design; if that ever broke, the file must not travel as a plain attachment.
        const suspects = cardNumbersIn(history);
        if (suspects.length > 0)
          console.error(
            `settleflow: WARNING: card-number-like digits in this history (${suspects.join(', ')}): handle it as card data`,
          );
      }),
    );
}

/** Loads every history first, so a missing file or workflow is a verdict of its own, not an aborted run. */
async function gatherHistories(
  targets: string[],
  opts: { query?: string; limit: number },
): Promise<{ histories: HistoryAndWorkflowId[]; failed: ReplayVerdict[] }> {
  const histories: HistoryAndWorkflowId[] = [];
  const failed: ReplayVerdict[] = [];
  const failure = (workflowId: string, err: unknown): ReplayVerdict => ({
    workflowId,
    ok: false,
    error: { name: 'NotLoaded', reason: String(err instanceof Error ? err.message : err), message: String(err) },
  });

  for (const file of targets.filter(isHistoryFile)) {
    try {
      histories.push(readHistoryFile(file));
    } catch (err) {
      failed.push(failure(file, err));
    }
  }
  const ids = targets.filter((target) => !isHistoryFile(target));
  if (ids.length === 0 && !opts.query) return { histories, failed };

  await withTemporal(async ({ client }) => {
    if (opts.query) {
      for await (const info of client.workflow.list({ query: opts.query })) {
        if (ids.length >= opts.limit) break;
        ids.push(info.workflowId);
      }
    }
    for (const workflowId of ids) {
      try {
        histories.push({ workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() });
      } catch (err) {
        failed.push(failure(workflowId, err));
      }
    }
  });
  return { histories, failed };
}

function registerReplay(program: Command): void {
  program
    .command('replay [historiesOrIds...]')
    .description('replay histories (JSON files, or workflow ids fetched from Temporal) against this workflow code')
    .option(
      '--query <visibility query>',
      'also replay the workflows matching this query, e.g. every running payment before a deploy',
    )
    .option('--limit <n>', 'at most this many workflows from --query', positiveInteger, 100)
    .option('--json', 'machine-readable output')
    .action(async (targets: string[], opts: { query?: string; limit: number; json?: boolean }) => {
      if (targets.length === 0 && !opts.query)
        throw new InvalidArgumentError('give workflow ids, history files, or --query');
      // The bundler logs every step, and the SDK's core warns of each failure the verdicts report anyway.
      Runtime.install({
        logger: new DefaultLogger('WARN'),
        telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'ERROR' }) } },
      });
      const { histories, failed } = await gatherHistories(targets, opts);
      const verdicts = [...failed];
      const report = (verdict: ReplayVerdict) => {
        if (!opts.json)
          console.log(
            verdict.ok
              ? `ok   ${verdict.workflowId}`
              : `FAIL ${verdict.workflowId}: ${verdict.error!.name}: ${verdict.error!.reason}`,
          );
      };
      failed.forEach(report);
      if (histories.length > 0) {
        for await (const verdict of replayHistories(histories)) {
          verdicts.push(verdict);
          report(verdict);
        }
      }
      const failures = verdicts.filter((v) => !v.ok).length;
      if (opts.json)
        print(true, { ok: failures === 0, replayed: verdicts.length, failed: failures, results: verdicts }, '');
      else
        console.log(
          `\n${verdicts.length} ${verdicts.length === 1 ? 'history' : 'histories'}: ${verdicts.length - failures} ok, ${failures} failed`,
        );
      if (failures > 0) process.exitCode = 1;
    });
}
