import { existsSync, readFileSync } from 'node:fs';
import type { Client, HistoryAndWorkflowId } from '@temporalio/client';
import { type ReplayWorkerOptions, Worker } from '@temporalio/worker';
import { luhnValid, maskPan } from '../epro/card';
import { historyFromJson, historyToJson } from './history-json';

/**
 * Workflow histories for incident review: exported from a Temporal server as JSON (the same proto-JSON as the
 * Web UI's "Download" button and `temporal workflow show --output json`, so any of them can be replayed), and
 * replayed against the workflow code of this checkout. A replay that fails means the code can no longer resume
 * that payment: deploying it would leave such payments stuck on a failing workflow task.
 */

/** The workflow bundle's entry point, next to this file in both `dist/` (compiled) and the sources (tests). */
export const WORKFLOWS_PATH = require.resolve('../../workflows');

/** A history as JSON text, ready to be written to a file and replayed later. */
export async function exportHistory(client: Client, workflowId: string, runId?: string): Promise<string> {
  return historyToJson(await client.workflow.getHandle(workflowId, runId).fetchHistory());
}

/** Reads a history file; the replay verdict names it by its path. */
export function readHistoryFile(file: string): HistoryAndWorkflowId {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  return { workflowId: file, history: historyFromJson(parsed) };
}

/** What the command line accepts as a history: a JSON file on disk, or else a workflow id on the server. */
export function isHistoryFile(argument: string): boolean {
  return argument.endsWith('.json') || existsSync(argument);
}

/**
 * Card numbers in a history's JSON (PCI-DSS: there must be none), in masked form so that reporting one does not
 * leak it again. Payload data is base64-encoded JSON: it is decoded first, or a PAN would hide in plain sight.
 * Any 13–19 digit run that passes Luhn counts; a random id may occasionally trip it, which is the safe side.
 */
export function cardNumbersIn(historyJson: string): string[] {
  const decoded = JSON.stringify(JSON.parse(historyJson), (key, value: unknown) =>
    key === 'data' && typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : value,
  );
  const runs = [...`${historyJson}\n${decoded}`.matchAll(/(?<!\d)\d{13,19}(?!\d)/g)].map((match) => match[0]);
  return [...new Set(runs.filter(luhnValid).map(maskPan))];
}

export interface ReplayVerdict {
  workflowId: string;
  ok: boolean;
  /**
   * `name`: `DeterminismViolationError` (the code takes another path than the history) or `ReplayError` (the code
   * failed). `reason`: the core's own explanation, extracted from the SDK's wrapping of it; `message`: all of it.
   */
  error?: { name: string; reason: string; message: string };
}

/** The SDK wraps the core's failure in a debug dump; its quoted `message` is the part a human needs. */
function reasonOf(message: string): string {
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  return inner ? inner.replace(/\\(.)/g, '$1') : message;
}

/**
 * Replays every history against the workflows at `workflowsPath` (bundled once for all of them) and yields a
 * verdict per history, in order. Nothing runs for real: activities and timers are answered from the history.
 * `options`: workflow interceptor modules and sinks to replay with (the traced bundle's, docs/tracing.md).
 */
export async function* replayHistories(
  histories: Iterable<HistoryAndWorkflowId> | AsyncIterable<HistoryAndWorkflowId>,
  workflowsPath = WORKFLOWS_PATH,
  options: Pick<ReplayWorkerOptions, 'interceptors' | 'sinks'> = {},
): AsyncGenerator<ReplayVerdict> {
  for await (const result of Worker.runReplayHistories(
    { workflowsPath, replayName: 'settleflow-replay', ...options },
    histories,
  )) {
    yield {
      workflowId: result.workflowId,
      ok: result.error === undefined,
      ...(result.error
        ? { error: { name: result.error.name, reason: reasonOf(result.error.message), message: result.error.message } }
        : {}),
    };
  }
}
