import {
  type Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { paymentWorkflowV2 } from '../../workflows/payment-workflow';
import {
  challengeResultUpdate,
  challengeReturnedUpdate,
  decisionUpdate,
  processorEventSignal,
  refundUpdate,
} from '../../workflows/messages';
import {
  type ChallengeAnswer,
  type ChallengeResult,
  type Decision,
  type PaymentInput,
  type PaymentMemo,
  type ProcessorNudge,
  type RefundAnswer,
  PAYMENT_WORKFLOW_TYPE,
  paymentWorkflowId,
} from '../../workflows/vocabulary';
import { SA_AMOUNT, SA_MERCHANT_ID, SA_MODE, SA_STATUS, SA_TID } from '../../workflows/search-attributes';

/** Past the wait budget, how long to wait for Temporal to confirm the start itself before giving up. */
const START_CONFIRMATION_MS = 5_000;

export type StartResult =
  | { kind: 'decided'; decision: Decision }
  /** Started, but no decision within the wait budget: the answer is `pending`, the outcome follows by webhook. */
  | { kind: 'pending' }
  | { kind: 'already_started' };

/** How every payment workflow is started: its id policy, search attributes and summary. */
export function paymentStartOptions(workflowId: string, taskQueue: string, input: PaymentInput, memo?: PaymentMemo) {
  return {
    workflowId,
    taskQueue,
    args: [input] as [PaymentInput],
    ...(memo ? { memo: { ...memo } } : {}),
    // A workflow id is a Tid: never started twice, even after the first run closed.
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    typedSearchAttributes: new TypedSearchAttributes([
      { key: SA_TID, value: input.tid },
      { key: SA_MERCHANT_ID, value: input.merchantId },
      { key: SA_MODE, value: input.mode },
      { key: SA_STATUS, value: 'pending' },
      { key: SA_AMOUNT, value: input.amount },
    ]),
    // What ops read first in the Temporal UI. Masked PAN only.
    staticSummary: `Payment ${input.tid} · ${input.amount} ${input.currency} minor units · ${input.brand} ${input.maskedPan}`,
  };
}

/**
 * Starts the payment's workflow and waits for its first decision in one round trip (update-with-start), at most
 * `budgetMs`. Errors other than "already started" mean the start may not have happened: the caller decides.
 */
export async function startPayment(
  client: Client,
  taskQueue: string,
  input: PaymentInput,
  budgetMs: number,
  memo: PaymentMemo,
): Promise<StartResult> {
  const workflowId = paymentWorkflowId(input.mode, input.merchantId, input.tid);
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof paymentWorkflowV2>(PAYMENT_WORKFLOW_TYPE, {
    ...paymentStartOptions(workflowId, taskQueue, input, memo),
    workflowIdConflictPolicy: 'FAIL',
  });
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), budgetMs);
  });
  try {
    // The deadline bounds every gRPC call and its retries: with Temporal unreachable the merchant gets 9 within
    // the budget instead of waiting out the client's retry policy.
    const decided = client.withDeadline(Date.now() + budgetMs + START_CONFIRMATION_MS, () =>
      client.workflow
        .startUpdateWithStart(decisionUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED, startWorkflowOperation })
        .then((handle) => handle.result()),
    );
    const winner = await Promise.race([decided, budget]);
    if (winner !== 'timeout') return { kind: 'decided', decision: winner };
    // Out of time: a payment is only `pending` if its workflow provably exists; otherwise the caller must know.
    decided.catch(() => undefined);
    const confirmation = await Promise.race([
      startWorkflowOperation.workflowHandle().then(() => 'started' as const),
      new Promise<'unknown'>((resolve) => setTimeout(() => resolve('unknown'), START_CONFIRMATION_MS).unref()),
    ]);
    if (confirmation === 'unknown') throw new Error(`start of ${workflowId} not confirmed within the wait budget`);
    return { kind: 'pending' };
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return { kind: 'already_started' };
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * True when `err` says the workflow does not exist (or has ended and is gone from the task path), and that is
 * certain. The SDK reports any gRPC NOT_FOUND as WorkflowNotFoundError, and a Temporal server that is still
 * starting answers NOT_FOUND for the namespace itself: so it counts only if the namespace answers right after.
 */
async function confirmedNotFound(client: Client, err: unknown): Promise<boolean> {
  if (!(err instanceof WorkflowNotFoundError)) return false;
  try {
    await client.withDeadline(Date.now() + 3_000, () =>
      client.workflowService.describeNamespace({ namespace: client.options.namespace }),
    );
    return true;
  } catch {
    return false;
  }
}

/** Whether Temporal has this workflow. "No" frees a Tid, so it must be certain; anything uncertain throws. */
export async function workflowExists(client: Client, workflowId: string): Promise<boolean> {
  const describe = () =>
    client.withDeadline(Date.now() + 3_000, () => client.workflow.getHandle(workflowId).describe());
  try {
    await describe();
    return true;
  } catch (err) {
    if (!(await confirmedNotFound(client, err))) throw err;
  }
  // The namespace is up: ask once more, so a "not found" from a server still loading cannot slip through.
  try {
    await describe();
    return true;
  } catch (err) {
    if (await confirmedNotFound(client, err)) return false;
    throw err;
  }
}

/**
 * workflowExists, asked again while Temporal cannot tell, for at most `patienceMs`. On a cluster "cannot tell" is
 * usually seconds long (a history shard moving to another host after its host died, the database restarting:
 * docs/deploying.md), and a payment start whose outcome stays unknown loses its card (src/commands/start-payment.ts):
 * waiting those seconds out turns most of those into a payment that goes on.
 */
export async function workflowExistsWithin(client: Client, workflowId: string, patienceMs: number): Promise<boolean> {
  const deadline = Date.now() + patienceMs;
  for (;;) {
    try {
      return await workflowExists(client, workflowId);
    } catch (err) {
      if (Date.now() + EXISTENCE_RETRY_MS >= deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, EXISTENCE_RETRY_MS));
    }
  }
}

const EXISTENCE_RETRY_MS = 1_000;

/**
 * One call to a payment's running workflow, bounded by `budgetMs`. A workflow that has certainly ended gives
 * `whenEnded`; any other failure (Temporal restarting, the deadline) is rethrown and becomes code 9, so the
 * caller retries instead of being told something final that is not.
 */
async function callRunningPayment<T, E>(
  client: Client,
  budgetMs: number,
  call: () => Promise<T>,
  whenEnded: E,
): Promise<T | E> {
  try {
    return await client.withDeadline(Date.now() + budgetMs, call);
  } catch (err) {
    if (await confirmedNotFound(client, err)) return whenEnded;
    throw err;
  }
}

/**
 * Sends the refund Update; the workflow decides (so two concurrent refunds give one success and one refusal).
 * A workflow that has closed (its refund window ended) can no longer refund.
 */
export function requestRefund(
  client: Client,
  workflowId: string,
  reference: string,
  budgetMs: number,
): Promise<RefundAnswer> {
  return callRunningPayment(
    client,
    budgetMs,
    () => client.workflow.getHandle(workflowId).executeUpdate(refundUpdate, { args: [{ reference }] }),
    { ok: false, reason: 'refund_window_closed' } as const,
  );
}

/**
 * Delivers the cardholder's 3-D Secure answer and waits (within the budget) for the payment's outcome. `closed`
 * means the workflow has already ended (the challenge timed out, or the payment finished long ago).
 */
export function submitChallengeResult(
  client: Client,
  workflowId: string,
  result: ChallengeResult,
  budgetMs: number,
): Promise<ChallengeAnswer | { closed: true }> {
  return callRunningPayment(
    client,
    budgetMs,
    () => client.workflow.getHandle(workflowId).executeUpdate(challengeResultUpdate, { args: [result] }),
    { closed: true } as const,
  );
}

/**
 * The cardholder is back from the processor's challenge page: the workflow asks the processor and answers once
 * the payment is decided (or the challenge is still open). Same shape of answer as the sandbox page's.
 */
export function submitChallengeReturn(
  client: Client,
  workflowId: string,
  budgetMs: number,
): Promise<ChallengeAnswer | { closed: true }> {
  return callRunningPayment(
    client,
    budgetMs,
    () => client.workflow.getHandle(workflowId).executeUpdate(challengeReturnedUpdate),
    { closed: true } as const,
  );
}

/** Tells a payment's workflow that its processor sent an event; false when the workflow has ended. */
export function nudgePayment(client: Client, workflowId: string, nudge: ProcessorNudge): Promise<boolean> {
  return callRunningPayment(
    client,
    5_000,
    () =>
      client.workflow
        .getHandle(workflowId)
        .signal(processorEventSignal, nudge)
        .then(() => true),
    false,
  );
}
