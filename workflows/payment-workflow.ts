import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  setCurrentDetails,
  sleep,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PaymentActivities } from '../activities/payment-activities';
import type { WebhookActivities } from '../activities/webhook-activities';
import {
  type DeliverWebhookInput,
  type DeliveryOutcome,
  type AuthorizeOutcome,
  type ChallengeAnswer,
  type ChallengeResult,
  type Decision,
  type PaymentInput,
  type PaymentOutcome,
  type PaymentState,
  type PaymentStatus,
  type RefundAnswer,
  type RefundStatus,
  type WebhookEvent,
  FAILURE_CARD_UNAVAILABLE,
  NON_RETRYABLE_FAILURES,
  PROCESSOR_HOSTED_CHALLENGES,
} from './vocabulary';
import {
  challengeResultUpdate,
  challengeReturnedUpdate,
  decisionUpdate,
  processorEventSignal,
  refundUpdate,
  stateQuery,
} from './messages';
import { SA_STATUS } from './search-attributes';

const PROCESSOR_RETRY = {
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  maximumInterval: '30 seconds',
  nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
} as const;

const paymentActivities = proxyActivities<PaymentActivities>({
  // A processor call that takes longer is treated as lost and retried (with the same idempotency key), which
  // also bounds how long a payment waits after its worker died mid-call.
  startToCloseTimeout: '15 seconds',
  retry: PROCESSOR_RETRY,
});

/**
 * How many times a capture is tried before the workflow gives up and voids the authorization. A bound on attempts,
 * not on time (no schedule-to-close timeout), so that only the processor's failures count: a capture that waits
 * in the task queue while our own workers or Temporal are down is not an attempt, and such an outage never voids
 * a payment whose capture was never tried. 120 attempts at the backoff above (0.5 s doubling to 30 s, each attempt
 * up to 15 s) are one to one and a half hours of a failing processor: a failover or a short outage passes and
 * the payment is captured as usual, while the authorization (valid for days at the issuer) is still far from
 * lapsing and the merchant gets a final answer the same hour (docs/sandbox.md, Statuses).
 */
const CAPTURE_MAX_ATTEMPTS = 120;

/**
 * Projection writes and the card's release are short database writes that their guards make idempotent (sequence
 * numbers, deletes). As local activities they run inside the workflow task that asks for them: no task queue round
 * trip, no activity events, for two of the five activities on a payment's synchronous path. A worker that dies
 * mid-write replays the task and writes again, which the guards make harmless.
 */
const localStore = proxyLocalActivities<Pick<PaymentActivities, 'projectPayment' | 'releaseCard'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * The record's first write is retried briskly: until it lands, a payment the API already answered `pending`
 * (its wait budget ran out) has no record for status to read.
 */
const recordStore = proxyLocalActivities<Pick<PaymentActivities, 'recordPayment'>>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds' },
});

/**
 * The changes made to the workflow while payments of the first type were open, each behind `patched()` there
 * (docs/changing-the-workflow.md, "A new workflow type"):
 * - `store-writes-as-local-activities`: projection writes and the card's release as local activities;
 * - `record-written-by-workflow`: the payment's record written by the workflow, not the API;
 * - `void-after-failed-capture`: a capture that failed for good is followed by a void.
 */
type Change = 'store-writes-as-local-activities' | 'record-written-by-workflow' | 'void-after-failed-capture';

const MAX_WEBHOOK_BACKOFF_MS = 60 * 60_000;

/**
 * While a processor is `processing` an authorization, the workflow asks it again at this interval when no event
 * came (its webhooks may be lost or not configured), and gives up after the limit: it cancels the authorization
 * and the payment ends `failed` (docs/connectors.md).
 */
const PROCESSING_CHECK_MS = 5 * 60_000;
const PROCESSING_LIMIT_MS = 24 * 3600_000;

const MESSAGES = {
  processing: 'Payment is being processed',
  challenge: '3DSecure authentication required',
  authorized: 'Payment authorized',
  captured: 'Payment was successful',
  cancelled: '3DSecure authentication not completed in time',
  rejected: '3DSecure authentication failed',
  cardUnavailable: 'Payment could not be completed: card data expired',
  notCompleted: 'Payment could not be completed',
  refunded: 'Payment refunded',
  refundFailed: 'Refund failed',
  captureUnanswered: 'the processor did not answer',
  undecided: 'Payment could not be completed: the processor did not decide',
} as const;

/** A failed capture's final message: the merchant reads it in the answer, status and PAYMENT_FAILED webhook. */
const captureFailedMessage = (reason: string, voidFailure?: string): string =>
  voidFailure === undefined
    ? `Capture failed (${reason}); the authorization was voided`
    : `Capture failed (${reason}); voiding the authorization failed too (${voidFailure}): the amount may stay on hold until the issuer releases it`;

const FINAL_EVENTS: Partial<Record<PaymentStatus, WebhookEvent>> = {
  captured: 'PAYMENT_CAPTURED',
  failed: 'PAYMENT_FAILED',
  cancelled: 'PAYMENT_CANCELLED',
  rejected_pw: 'PAYMENT_REJECTED',
};

/**
 * One payment, from the first answer to the end of its refund window. The workflow is the payment's only
 * writer: its record (written first), projections, webhooks and processor calls all go out from here, in order,
 * as retryable activities carrying idempotency keys derived from the workflow id. While it exists, Temporal
 * guards the Tid (a second start of the same workflow id is refused); its record guards it after that
 * (docs/architecture.md). Deterministic code only: no I/O, no Node APIs.
 *
 * The type every payment starts as: every change listed under `Change` taken, and no `patched()` call, which would
 * cost each payment a marker and a `TemporalChangeVersion` search attribute upsert in its history for a question
 * only the first type's payments need asked (docs/changing-the-workflow.md, "A new workflow type").
 */
export async function paymentWorkflowV2(input: PaymentInput): Promise<PaymentOutcome> {
  return runPayment(input, () => true);
}

/**
 * The first type, for payments started before paymentWorkflowV2 existed: each change is asked of `patched()`,
 * which answers from the payment's history. Registered until no payment of this type is open
 * (docs/changing-the-workflow.md, "Retiring the first type").
 */
export async function paymentWorkflow(input: PaymentInput): Promise<PaymentOutcome> {
  return runPayment(input, patched);
}

/** The payment itself; `takes(change)` says whether this run takes a change (see `Change`). */
async function runPayment(input: PaymentInput, takes: (change: Change) => boolean): Promise<PaymentOutcome> {
  const { workflowId } = workflowInfo();
  // Payments of the first type recorded before the change wrote through regular activities, and replay that way.
  const store = () => (takes('store-writes-as-local-activities') ? localStore : paymentActivities);
  // Whose processor account every call goes to (the sandbox simulator ignores it).
  const account = { merchantId: input.merchantId, mode: input.mode };
  /** A capture, void or refund of the payment's whole amount on one of the processor's authorizations. */
  const movementOn = (authorization: string) => ({
    connector: input.connector,
    account,
    pspReference: authorization,
    amount: input.amount,
    currency: input.currency,
  });
  const capturing = proxyActivities<Pick<PaymentActivities, 'capturePayment'>>({
    startToCloseTimeout: '15 seconds',
    retry: { ...PROCESSOR_RETRY, maximumAttempts: input.captureMaxAttempts ?? CAPTURE_MAX_ATTEMPTS },
  });
  // One try per activity: the workflow schedules the retries itself, with jitter, which Temporal's policy lacks.
  const webhooks = proxyActivities<WebhookActivities>({
    startToCloseTimeout: input.webhook.attemptTimeoutMs + 5_000,
    retry: { maximumAttempts: 1 },
  });

  let status: PaymentStatus = 'pending';
  let message: string = MESSAGES.processing;
  let waitingFor: PaymentState['waitingFor'] = 'processor';
  let decision: Decision | undefined;
  let challenge: ChallengeResult | undefined;
  let awaitingChallenge = false;
  // A processor-hosted challenge or a `processing` authorization: the return endpoint and processor events nudge.
  let awaitingProcessor = false;
  let processorNudged = false;
  let processorChecks = 0;
  let refund: { reference: string; status: RefundStatus } | undefined;
  let refundInFlight = false;
  let refundWindowClosed = false;
  let pspReference: string | undefined;
  let seq = 0;
  let webhooksPending = 0;
  let webhookChain: Promise<void> = Promise.resolve();

  setHandler(stateQuery, () => ({
    status,
    message,
    waitingFor,
    maskedPan: input.maskedPan,
    amount: input.amount,
    currency: input.currency,
    refund,
    webhooksPending,
  }));
  setHandler(decisionUpdate, async () => {
    await condition(() => decision !== undefined);
    return decision!;
  });

  // Registered before anything runs: an update without a handler would be rejected, and a merchant may ask for
  // a refund the instant the capture is answered. The state decides, so early or concurrent refunds are safe.
  setHandler(refundUpdate, async ({ reference }): Promise<RefundAnswer> => {
    if (status !== 'captured' || pspReference === undefined) return { ok: false, reason: 'not_captured' };
    if (refundWindowClosed) return { ok: false, reason: 'refund_window_closed' };
    if (refundInFlight || refund?.status === 'captured') return { ok: false, reason: 'already_refunded' };
    refundInFlight = true;
    try {
      await paymentActivities.recordRefundReference({
        reference,
        paymentKey: input.paymentKey,
        merchantId: input.merchantId,
        mode: input.mode,
      });
      const result = await paymentActivities.refundPayment({
        idempotencyKey: `${workflowId}:refund:${reference}`,
        ...movementOn(pspReference),
      });
      const refundStatus: RefundStatus = result.kind === 'refunded' ? 'captured' : 'failed';
      const refundMessage =
        result.kind === 'refunded' ? MESSAGES.refunded : `${MESSAGES.refundFailed}: ${result.message}`;
      const date = new Date().toISOString();
      await store().projectPayment({
        paymentKey: input.paymentKey,
        seq: ++seq,
        historyLength: workflowInfo().historyLength,
        date,
        refund: { reference, status: refundStatus, message: refundMessage },
      });
      refund = { reference, status: refundStatus };
      notify(refundStatus === 'captured' ? 'REFUND_SUCCEEDED' : 'REFUND_FAILED', {
        operation: 'refund',
        status: refundStatus,
        message: refundMessage,
        date,
        reference,
      });
      return { ok: true, status: refundStatus, reference, message: refundMessage, date };
    } finally {
      refundInFlight = false;
    }
  });

  /** Writes the projection first, then updates what the UI and queries show, so status never runs ahead. */
  async function transition(
    next: PaymentStatus,
    nextMessage: string,
    extra: { threeDSUrl?: string; challengeRedirectUrl?: string; processorReference?: string } = {},
    date = new Date().toISOString(),
  ): Promise<void> {
    await store().projectPayment({
      paymentKey: input.paymentKey,
      seq: ++seq,
      historyLength: workflowInfo().historyLength,
      status: next,
      message: nextMessage,
      date,
      ...extra,
    });
    status = next;
    message = nextMessage;
    upsertSearchAttributes([{ key: SA_STATUS, value: next }]);
    describeForOps();
  }

  function setWaitingFor(what: PaymentState['waitingFor']): void {
    waitingFor = what;
    describeForOps();
  }

  /** What the Temporal UI shows as the workflow's current details: readable at a glance, never card data. */
  function describeForOps(): void {
    setCurrentDetails(
      `**${status}** · ${input.tid} · ${input.amount} ${input.currency} (minor units) · ${input.brand} ${input.maskedPan}\n\n` +
        `${message} · waiting for: ${waitingFor}${refund ? ` · refund ${refund.reference}: ${refund.status}` : ''}`,
    );
  }

  /**
   * Delivers one event until it is acknowledged: exponential backoff from the configured initial delay, capped at
   * an hour, with full jitter (so a recovering endpoint is not hit by every payment at once), for at most the mode's
   * retry bound. Every attempt is recorded by the activity.
   */
  async function deliverWithRetries(delivery: Omit<DeliverWebhookInput, 'attempt' | 'nextRetryInMs'>): Promise<void> {
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      const ceiling = Math.min(input.webhook.initialBackoffMs * 2 ** Math.min(attempt - 1, 30), MAX_WEBHOOK_BACKOFF_MS);
      const backoff = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
      const retryLater = Date.now() + backoff - started <= input.webhook.retryForMs;
      let outcome: DeliveryOutcome;
      try {
        outcome = await webhooks.deliverWebhook({ ...delivery, attempt, nextRetryInMs: retryLater ? backoff : null });
      } catch (err) {
        // The activity itself failed (worker lost, database down): that attempt counts, the schedule goes on.
        outcome = { delivered: false, permanent: false, error: err instanceof Error ? err.message : String(err) };
      }
      if (outcome.delivered) return;
      if (outcome.permanent || !retryLater) {
        log.warn('webhook not delivered, giving up', {
          deliveryId: delivery.deliveryId,
          event: delivery.event,
          attempt,
          error: outcome.error,
        });
        return;
      }
      await sleep(backoff);
    }
  }

  /** Events of one payment go out strictly in order; the workflow itself never waits for the merchant. */
  function notify(event: WebhookEvent, payload: DeliverWebhookInput['payload']): void {
    if (!input.callbackUrl) return;
    const delivery = {
      deliveryId: `whd_${uuid4()}`,
      paymentKey: input.paymentKey,
      merchantId: input.merchantId,
      mode: input.mode,
      url: input.callbackUrl,
      event,
      payload,
      payment: {
        tid: input.tid,
        reference: input.reference,
        uid: input.uid,
        amount: input.amount,
        currency: input.currency,
      },
    };
    webhooksPending++;
    webhookChain = webhookChain.then(() => deliverWithRetries(delivery)).finally(() => webhooksPending--);
  }

  async function authorize(authenticated: boolean): Promise<AuthorizeOutcome | { kind: 'error'; message: string }> {
    try {
      return await paymentActivities.authorizePayment({
        idempotencyKey: workflowId,
        vaultToken: input.vaultToken,
        connector: input.connector,
        account,
        amount: input.amount,
        currency: input.currency,
        authenticated,
        customer: input.customer,
        labels: { workflowId, reference: input.reference, tid: input.tid },
        returnUrl: `${input.threeDSUrl}/return`,
        threeDSRequested: input.threeDSRequested,
      });
    } catch (err) {
      const type =
        err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
      return {
        kind: 'error',
        message: type === FAILURE_CARD_UNAVAILABLE ? MESSAGES.cardUnavailable : MESSAGES.notCompleted,
      };
    }
  }

  setHandler(challengeResultUpdate, (result) => {
    if (challenge !== undefined) return { accepted: false, reason: 'already_answered', status };
    if (!awaitingChallenge) return { accepted: false, reason: 'not_waiting', status };
    challenge = result;
    return condition(() => decision !== undefined && decision.status !== 'pending').then(() => ({
      accepted: true as const,
      decision: decision!,
    }));
  });

  setHandler(processorEventSignal, () => {
    processorNudged = true;
  });

  // The cardholder is back from the processor's page: the workflow asks the processor, and the answer waits for
  // that check, then for the final decision unless the challenge is still open (they may go back and finish it).
  setHandler(challengeReturnedUpdate, async (): Promise<ChallengeAnswer> => {
    if (!awaitingProcessor) return { accepted: false, reason: 'not_waiting', status };
    const before = processorChecks;
    processorNudged = true;
    await condition(() => processorChecks > before);
    await condition(() => awaitingProcessor || (decision !== undefined && decision.status !== 'pending'));
    return { accepted: true, decision: decision! };
  });

  /** Offers the challenge: the record and the first answer carry the 3-D Secure link, the payment waits for 3DS. */
  async function offerChallenge(challengeRedirectUrl?: string): Promise<void> {
    await transition('pending', MESSAGES.challenge, {
      threeDSUrl: input.threeDSUrl,
      ...(challengeRedirectUrl === undefined ? {} : { challengeRedirectUrl }),
    });
    decision = {
      status: 'pending',
      message: MESSAGES.challenge,
      date: new Date().toISOString(),
      threeDSUrl: input.threeDSUrl,
    };
    setWaitingFor('3ds');
  }

  /** Asks the cardholder to authenticate; resolves with their answer, or undefined when time ran out. */
  async function waitForChallenge(): Promise<ChallengeResult | undefined> {
    await offerChallenge();
    awaitingChallenge = true;
    const answered = await condition(() => challenge !== undefined, input.threeDSTimeoutMs);
    awaitingChallenge = false;
    setWaitingFor('processor');
    return answered ? challenge : undefined;
  }

  async function checkAuthorization(
    authorization: string,
  ): Promise<AuthorizeOutcome | { kind: 'error'; message: string }> {
    try {
      return await paymentActivities.checkAuthorization({
        connector: input.connector,
        account,
        pspReference: authorization,
      });
    } catch {
      return { kind: 'error', message: MESSAGES.notCompleted };
    } finally {
      processorChecks++;
    }
  }

  /**
   * Waits for the processor while something nudges (the return endpoint, a processor event) or `pollMs` passes,
   * asking it where the authorization stands each time, until it is no longer `stillOpen` or `limitMs` is over.
   */
  async function watchAuthorization(
    authorization: string,
    stillOpen: (kind: string) => boolean,
    pollMs: number,
    limitMs: number,
  ): Promise<{ outcome: AuthorizeOutcome | { kind: 'error'; message: string }; timedOut: boolean }> {
    const deadline = Date.now() + limitMs;
    awaitingProcessor = true;
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (remaining > 0) await condition(() => processorNudged, Math.min(pollMs, remaining));
        processorNudged = false;
        const outcome = await checkAuthorization(authorization);
        if (!stillOpen(outcome.kind)) return { outcome, timedOut: false };
        if (Date.now() >= deadline) return { outcome, timedOut: true };
      }
    } finally {
      awaitingProcessor = false;
    }
  }

  /**
   * Voids an authorization the payment will not use; resolves with why it could not be done, or undefined. The
   * void moves no money, so it is retried until the processor answers (the processor calls' policy, no bound); its
   * key is the workflow id and the step, so a retried void is one void. Only a failure no retry can fix (an unknown
   * connector, missing credentials) is caught here.
   */
  async function voidAuthorization(authorization: string): Promise<string | undefined> {
    try {
      const voided = await paymentActivities.voidAuthorization({
        idempotencyKey: `${workflowId}:void`,
        ...movementOn(authorization),
      });
      return voided.kind === 'voided' ? undefined : voided.message;
    } catch {
      return MESSAGES.captureUnanswered;
    }
  }

  /** Releases an authorization the payment will not use (best effort: ops are told when it cannot be done). */
  async function cancelAuthorization(authorization: string): Promise<void> {
    const failure = await voidAuthorization(authorization);
    if (failure !== undefined) log.error('an unused authorization could not be cancelled', { reason: failure });
  }

  /**
   * The processor hosts the challenge (docs/3d-secure.md): SettleFlow's 3-D Secure link sends the cardholder to
   * the processor's page, and the processor sends them back to the return endpoint. At the timeout the processor
   * is asked once more (the cardholder may have finished as time ran out) before the authorization is cancelled.
   * Resolves with the authorization's outcome, or undefined when the payment ended `cancelled`.
   */
  async function processorChallenge(
    authorization: string,
    redirectUrl: string,
  ): Promise<AuthorizeOutcome | { kind: 'error'; message: string } | undefined> {
    await offerChallenge(redirectUrl);
    const watched = await watchAuthorization(
      authorization,
      (kind) => kind === 'challenge_required',
      input.threeDSTimeoutMs,
      input.threeDSTimeoutMs,
    );
    setWaitingFor('processor');
    if (!watched.timedOut) return watched.outcome;
    await cancelAuthorization(authorization);
    await settle('cancelled', MESSAGES.cancelled);
    return undefined;
  }

  /** The processor is `processing`: wait for its decision (its events, or a check every few minutes). */
  async function processorDecision(
    authorization: string,
  ): Promise<AuthorizeOutcome | { kind: 'error'; message: string }> {
    setWaitingFor('processor');
    const watched = await watchAuthorization(
      authorization,
      (kind) => kind === 'processing',
      PROCESSING_CHECK_MS,
      PROCESSING_LIMIT_MS,
    );
    if (!watched.timedOut) return watched.outcome;
    await cancelAuthorization(authorization);
    return { kind: 'error', message: MESSAGES.undecided };
  }

  async function settle(final: PaymentStatus, finalMessage: string): Promise<void> {
    // One date for the projection, the synchronous answer and the webhook: they describe the same event.
    const date = new Date().toISOString();
    await transition(final, finalMessage, {}, date);
    decision = { status: final, message: finalMessage, date };
    const event = FINAL_EVENTS[final];
    if (event) notify(event, { operation: 'payment', status: final, message: finalMessage, date: decision.date });
  }

  /**
   * Captures the authorization, or, when the capture fails for good (the processor refuses it, or it failed on
   * every attempt), voids it: the compensation that releases the hold on the cardholder's funds at once instead
   * of when the issuer lets the authorization lapse days later. If the processor refuses the void, the message says
   * so and ops are told in the log.
   * A capture that was never answered may still have been made: the void then reverses it before settlement or is
   * refused, and a refusal is exactly what ops are told about.
   */
  async function captureOrVoid(authorization: string): Promise<{ status: 'captured' | 'failed'; message: string }> {
    let reason: string;
    try {
      const capture = await capturing.capturePayment({ idempotencyKey: workflowId, ...movementOn(authorization) });
      if (capture.kind === 'captured') return { status: 'captured', message: MESSAGES.captured };
      reason = capture.message;
    } catch {
      reason = MESSAGES.captureUnanswered;
    }
    const voidFailure = await voidAuthorization(authorization);
    if (voidFailure === undefined) return { status: 'failed', message: captureFailedMessage(reason) };
    log.error('capture failed and the authorization could not be voided: it stays on hold at the processor', {
      reason,
      voidFailure,
    });
    return { status: 'failed', message: captureFailedMessage(reason, voidFailure) };
  }

  // ── The payment's record ─────────────────────────────────────────────────────────────────────────────────
  // Payments started before this step existed had their record written by the API (docs/changing-the-workflow.md).
  if (takes('record-written-by-workflow')) {
    await recordStore.recordPayment({ payment: input, workflowId, message, date: new Date().toISOString() });
  }

  // ── Authentication and authorization ──────────────────────────────────────────────────────────────────
  // A processor that hosts 3-D Secure is asked first, 3DS=yes included: it runs the challenge, never our page.
  const processorHostsChallenge = PROCESSOR_HOSTED_CHALLENGES.includes(input.connector);
  let outcome: AuthorizeOutcome | { kind: 'error'; message: string } | undefined = { kind: 'challenge_required' };
  if (!input.threeDSRequested || processorHostsChallenge) outcome = await authorize(false);
  if (outcome.kind === 'challenge_required' && outcome.redirectUrl !== undefined && outcome.pspReference) {
    outcome = await processorChallenge(outcome.pspReference, outcome.redirectUrl);
  } else if (outcome.kind === 'challenge_required') {
    const answer = await waitForChallenge();
    if (answer === undefined) await settle('cancelled', MESSAGES.cancelled);
    else if (answer === 'failed') await settle('rejected_pw', MESSAGES.rejected);
    else outcome = await authorize(true);
  }
  if (outcome?.kind === 'processing') outcome = await processorDecision(outcome.pspReference);

  // ── Capture ───────────────────────────────────────────────────────────────────────────────────────────
  // Read through a function: TypeScript cannot see that handlers and helpers change `status` across awaits.
  const current = (): PaymentStatus => status;
  if (current() === 'pending' && outcome !== undefined) {
    if (outcome.kind === 'approved') {
      await transition('authorized', MESSAGES.authorized, { processorReference: outcome.pspReference });
      pspReference = outcome.pspReference;
      if (takes('void-after-failed-capture')) {
        const captured = await captureOrVoid(outcome.pspReference);
        await settle(captured.status, captured.message);
      } else {
        // Recorded before failed captures were voided: the capture retried without bound, a refusal ended the
        // payment with the processor's message (docs/changing-the-workflow.md).
        const capture = await paymentActivities.capturePayment({
          idempotencyKey: workflowId,
          ...movementOn(outcome.pspReference),
        });
        if (capture.kind === 'captured') await settle('captured', MESSAGES.captured);
        else await settle('failed', capture.message);
      }
    } else if (outcome.kind === 'declined' && outcome.authenticationFailed) {
      await settle('rejected_pw', MESSAGES.rejected);
    } else if (outcome.kind === 'declined' || outcome.kind === 'error') {
      await settle('failed', outcome.message);
    } else {
      // The issuer asked for authentication again after a completed challenge: nothing more can be done.
      await settle('failed', MESSAGES.notCompleted);
    }
  }
  // Authorization is over either way: the card data has no further use.
  await store().releaseCard({ vaultToken: input.vaultToken });

  // ── Refund window ─────────────────────────────────────────────────────────────────────────────────────
  if (current() === 'captured') {
    setWaitingFor('refund-window');
    await condition(() => refund?.status === 'captured', input.refundWindowMs);
    refundWindowClosed = true;
  }

  // A refund handler may still be finishing, and it queues a webhook when it does: wait for both together.
  setWaitingFor('webhook');
  await condition(() => allHandlersFinished() && webhooksPending === 0);
  await webhookChain;
  setWaitingFor('nothing');
  return { status, message, refund };
}
