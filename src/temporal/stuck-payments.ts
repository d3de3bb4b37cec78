import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { google } from '@temporalio/proto';
import { stateQuery } from '../../workflows/messages';
import { type PaymentState, type PaymentStatus, PAYMENT_WORKFLOW_TYPES_CLAUSE } from '../../workflows/vocabulary';
import { SA_AMOUNT, SA_MERCHANT_ID, SA_MODE, SA_STATUS, SA_TID } from '../../workflows/search-attributes';

/**
 * `settleflow stuck`: payments that have not reached a final status, found through Temporal's visibility API
 * (the same search attributes the Web UI filters on), each with what it is waiting for. Captured payments inside
 * their refund window are not stuck: their status is final, the workflow merely stays open for a refund.
 */

/** The statuses a payment passes through on its way to a final one (docs/runbook.md). */
export const NON_FINAL_STATUSES: readonly PaymentStatus[] = ['pending', 'authorized'];

export interface StuckFilter {
  /** Only payments started before this instant; omitted, every open payment counts. */
  startedBefore?: Date;
  merchantId?: string;
  mode?: 'test' | 'live';
}

/** Values go into a quoted string of the visibility query: refuse anything that could end the string. */
function quoted(value: string): string {
  if (!/^[\w.:-]+$/.test(value)) throw new Error(`not a valid filter value: ${JSON.stringify(value)}`);
  return `"${value}"`;
}

/** The visibility query, also what ops paste into the Temporal UI's filter box (see docs/runbook.md). */
export function stuckPaymentsQuery(filter: StuckFilter = {}): string {
  const clauses = [
    PAYMENT_WORKFLOW_TYPES_CLAUSE,
    'ExecutionStatus = "Running"',
    `${SA_STATUS.name} IN (${NON_FINAL_STATUSES.map(quoted).join(', ')})`,
  ];
  if (filter.merchantId) clauses.push(`${SA_MERCHANT_ID.name} = ${quoted(filter.merchantId)}`);
  if (filter.mode) clauses.push(`${SA_MODE.name} = ${quoted(filter.mode)}`);
  if (filter.startedBefore) clauses.push(`StartTime < "${filter.startedBefore.toISOString()}"`);
  return clauses.join(' AND ');
}

/** A retrying activity, as Temporal reports it: the clue when a payment waits on the processor or MongoDB. */
export interface PendingActivity {
  type: string;
  attempt: number;
  lastFailure?: string;
  nextAttemptAt?: string;
}

export interface StuckPayment {
  workflowId: string;
  runId: string;
  tid: string;
  merchantId: string;
  mode: string;
  status: string;
  amountMinor: number | null;
  /** ISO 8601. */
  startedAt: string;
  ageMs: number;
  /** From the workflow's `state` query; `unknown` when no worker answered it. */
  waitingFor: PaymentState['waitingFor'] | 'unknown';
  pendingActivities: PendingActivity[];
  /** More than 1: the workflow code itself fails on this history (a bug or a non-deterministic deploy). */
  workflowTaskAttempt: number;
  uiUrl: string;
}

export interface StuckOptions extends StuckFilter {
  namespace: string;
  uiUrl: string;
  /** At most this many payments are inspected (visibility lists newest first; the result is sorted oldest first). */
  limit: number;
  now?: Date;
  /** A query needs a live worker; without one it would hang until the gRPC deadline. */
  queryTimeoutMs?: number;
}

/** The Temporal Web UI page of one workflow run (its history, pending activities, queries). */
export function workflowUiUrl(uiUrl: string, namespace: string, workflowId: string, runId?: string): string {
  const base = `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${encodeURIComponent(runId)}/history` : base;
}

/** The Temporal Web UI's workflow list, already filtered by `query`. */
export function workflowListUiUrl(uiUrl: string, namespace: string, query: string): string {
  return `${uiUrl}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

async function waitingForOf(
  client: Client,
  workflowId: string,
  runId: string,
  timeoutMs: number,
): Promise<StuckPayment['waitingFor']> {
  try {
    const state = await client.withDeadline(Date.now() + timeoutMs, () =>
      client.workflow.getHandle(workflowId, runId).query(stateQuery),
    );
    return state.waitingFor;
  } catch {
    return 'unknown';
  }
}

/** A protobuf Timestamp as an ISO 8601 string; its 64-bit seconds arrive as a Long. */
function isoOf(ts: google.protobuf.ITimestamp | null | undefined): string | undefined {
  if (!ts?.seconds) return undefined;
  return new Date(ts.seconds.toNumber() * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000)).toISOString();
}

/** Pending activities and workflow task from `describe`, which the server answers without a worker. */
async function retriesOf(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<Pick<StuckPayment, 'pendingActivities' | 'workflowTaskAttempt'>> {
  try {
    const { raw } = await client.workflow.getHandle(workflowId, runId).describe();
    return {
      pendingActivities: (raw.pendingActivities ?? []).map((activity) => ({
        type: activity.activityType?.name ?? '?',
        attempt: activity.attempt ?? 1,
        lastFailure: activity.lastFailure?.message ?? undefined,
        nextAttemptAt: isoOf(activity.nextAttemptScheduleTime),
      })),
      workflowTaskAttempt: raw.pendingWorkflowTask?.attempt ?? 0,
    };
  } catch {
    return { pendingActivities: [], workflowTaskAttempt: 0 };
  }
}

function keyword(info: WorkflowExecutionInfo, key: typeof SA_TID): string {
  return info.typedSearchAttributes.get(key) ?? '?';
}

async function inspect(
  client: Client,
  info: WorkflowExecutionInfo,
  options: StuckOptions,
  now: Date,
): Promise<StuckPayment> {
  const [waitingFor, retries] = await Promise.all([
    waitingForOf(client, info.workflowId, info.runId, options.queryTimeoutMs ?? 3_000),
    retriesOf(client, info.workflowId, info.runId),
  ]);
  return {
    workflowId: info.workflowId,
    runId: info.runId,
    tid: keyword(info, SA_TID),
    merchantId: keyword(info, SA_MERCHANT_ID),
    mode: keyword(info, SA_MODE),
    status: keyword(info, SA_STATUS),
    amountMinor: info.typedSearchAttributes.get(SA_AMOUNT) ?? null,
    startedAt: info.startTime.toISOString(),
    ageMs: Math.max(0, now.getTime() - info.startTime.getTime()),
    waitingFor,
    ...retries,
    uiUrl: workflowUiUrl(options.uiUrl, options.namespace, info.workflowId, info.runId),
  };
}

export interface StuckReport {
  query: string;
  payments: StuckPayment[];
  /** True when more payments matched than `limit` allowed to inspect. */
  truncated: boolean;
}

export async function findStuckPayments(client: Client, options: StuckOptions): Promise<StuckReport> {
  const now = options.now ?? new Date();
  const query = stuckPaymentsQuery(options);
  const found: WorkflowExecutionInfo[] = [];
  let truncated = false;
  for await (const info of client.workflow.list({ query, pageSize: Math.min(options.limit + 1, 1000) })) {
    if (found.length === options.limit) {
      truncated = true;
      break;
    }
    found.push(info);
  }
  // A few at a time: an incident may list hundreds, and each costs a query and a describe.
  const payments: StuckPayment[] = [];
  for (let i = 0; i < found.length; i += 8) {
    payments.push(...(await Promise.all(found.slice(i, i + 8).map((info) => inspect(client, info, options, now)))));
  }
  payments.sort((a, b) => b.ageMs - a.ageMs);
  return { query, payments, truncated };
}
