import {
  type AuthorizationCheckInput,
  type AuthorizeInput,
  type AuthorizeOutcome,
  type MovementInput,
  type ProjectionInput,
  type RecordPaymentInput,
  type RefundReferenceInput,
  FAILURE_CARD_UNAVAILABLE,
  FAILURE_UNKNOWN_CONNECTOR,
  paymentKey,
} from '../workflows/vocabulary';
import { ApplicationFailure } from '@temporalio/activity';
import type { Db } from 'mongodb';
import type { KeyRing } from '../src/keyring';
import type { WorkerMetrics } from '../src/metrics/worker-metrics';
import {
  type PaymentDoc,
  type ProjectionPatch,
  applyProjectionFrom,
  insertPayment,
} from '../src/store/payment-records';
import { recordListing } from '../src/store/payment-listing';
import { recordProcessorReference } from '../src/store/processor-references';
import { recordReference } from '../src/store/references';
import { deleteCard, dropCvv, openCard } from '../src/store/vault';
import { inSpan, SpanKind } from '../src/tracing/spans';
import type { PspAdapter } from './psp';

/**
 * A call to the processor in a client span of its own (docs/tracing.md): which connector, which operation, and for
 * an answer with a kind (approved, declined, challenge…) that kind. Nothing of the card or the processor's reply.
 */
function processorCall<T>(adapter: PspAdapter, operation: string, call: () => Promise<T>): Promise<T> {
  return inSpan(
    `processor ${operation}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { 'settleflow.connector': adapter.name, 'settleflow.processor.operation': operation },
    },
    async (span) => {
      const result = await call();
      const kind = (result as { kind?: unknown } | undefined)?.kind;
      if (typeof kind === 'string') span.setAttribute('settleflow.processor.outcome', kind);
      return result;
    },
  );
}

export interface PaymentActivityDeps {
  db: Db;
  vaultKeys: KeyRing;
  connectors: Record<string, PspAdapter>;
  /** The worker's payment metrics (docs/metrics.md); absent in tests that call the activities directly. */
  metrics?: WorkerMetrics;
}

export function createPaymentActivities(deps: PaymentActivityDeps) {
  const connector = (name: string): PspAdapter => {
    const adapter = deps.connectors[name];
    if (!adapter)
      throw ApplicationFailure.nonRetryable(`no processor connector named ${name}`, FAILURE_UNKNOWN_CONNECTOR);
    return adapter;
  };

  return {
    /**
     * Opens the vault, asks the processor, and drops the CVV once the processor has answered (approved,
     * declined, or wants 3-D Secure first: in that case the CVV stays for the authorization after the challenge).
     * Card data never leaves this function: the result carries only the processor's outcome.
     */
    async authorizePayment(input: AuthorizeInput): Promise<AuthorizeOutcome> {
      const adapter = connector(input.connector);
      const card = await openCard(deps.db, deps.vaultKeys, input.vaultToken);
      if (!card) throw ApplicationFailure.nonRetryable('card data is no longer in the vault', FAILURE_CARD_UNAVAILABLE);
      const outcome = await processorCall(adapter, 'authorize', () =>
        adapter.authorize({
          idempotencyKey: input.idempotencyKey,
          amount: input.amount,
          currency: input.currency,
          card,
          authenticated: input.authenticated,
          customer: input.customer,
          account: input.account,
          labels: input.labels,
          returnUrl: input.returnUrl,
          threeDSRequested: input.threeDSRequested,
        }),
      );
      // Only SettleFlow's own challenge page authorizes again afterwards: a processor that hosts the challenge
      // already holds the card, as it does once it has answered.
      const authorizesAgain = outcome.kind === 'challenge_required' && outcome.redirectUrl === undefined;
      if (!authorizesAgain) await dropCvv(deps.db, input.vaultToken);
      const reference = 'pspReference' in outcome ? outcome.pspReference : undefined;
      if (adapter.sendsEvents && reference && input.account && input.labels) {
        const { merchantId, mode } = input.account;
        await recordProcessorReference(deps.db, {
          connector: adapter.name,
          pspReference: reference,
          paymentKey: paymentKey(mode, merchantId, input.labels.tid),
          workflowId: input.labels.workflowId,
          merchantId,
          mode,
          createdAt: new Date(),
        });
      }
      return outcome;
    },

    async checkAuthorization(input: AuthorizationCheckInput): Promise<AuthorizeOutcome> {
      const adapter = connector(input.connector);
      return processorCall(adapter, 'check', () =>
        adapter.checkAuthorization({ account: input.account, pspReference: input.pspReference }),
      );
    },

    async capturePayment(input: MovementInput) {
      const adapter = connector(input.connector);
      return processorCall(adapter, 'capture', () => adapter.capture(input));
    },

    async refundPayment(input: MovementInput) {
      const adapter = connector(input.connector);
      return processorCall(adapter, 'refund', () => adapter.refund(input));
    },

    /**
     * The payment's first step: its record (which answers status, and guards the Tid for good once Temporal
     * forgets the workflow), its listing documents (the dashboard's lists) and its Reference. Every insert is
     * idempotent, so a retry after a crash is harmless.
     */
    async recordPayment({ payment, workflowId, message, date }: RecordPaymentInput): Promise<void> {
      const at = new Date(date);
      const record: PaymentDoc = {
        _id: payment.paymentKey,
        mode: payment.mode,
        merchantId: payment.merchantId,
        tid: payment.tid,
        reference: payment.reference,
        uid: payment.uid,
        amount: payment.amount,
        currency: payment.currency,
        maskedPan: payment.maskedPan,
        brand: payment.brand,
        workflowId,
        connector: payment.connector,
        vaultToken: payment.vaultToken,
        status: 'pending',
        message,
        threeDS: payment.threeDSRequested,
        seq: 0,
        createdAt: at,
        updatedAt: at,
        ...(payment.returnUrl ? { returnUrl: payment.returnUrl } : {}),
        ...(payment.callbackUrl ? { callbackUrl: payment.callbackUrl } : {}),
        ...(payment.customer ? { customer: payment.customer } : {}),
      };
      // Counted by the insert that created the record: a retried step finds it there and counts nothing.
      if (await insertPayment(deps.db, record)) deps.metrics?.paymentAccepted(record);
      // The dashboard's lists (keys from the record's own createdAt, so a retry writes the same keys) and the
      // Reference, side by side: each is idempotent and needs only the record to exist.
      await Promise.all([
        recordListing(deps.db, record),
        recordReference(deps.db, {
          _id: payment.reference,
          kind: 'payment',
          paymentKey: payment.paymentKey,
          merchantId: payment.merchantId,
          mode: payment.mode,
        }),
      ]);
    },

    /** Releases an authorization that will not be captured (the compensation of a failed capture). */
    async voidAuthorization(input: MovementInput) {
      const adapter = connector(input.connector);
      return processorCall(adapter, 'void', () => adapter.void(input));
    },

    async projectPayment(input: ProjectionInput): Promise<void> {
      const patch: ProjectionPatch = { updatedAt: new Date(input.date) };
      if (input.status) patch.status = input.status;
      if (input.message) patch.message = input.message;
      if (input.challengeRedirectUrl) patch.challengeRedirectUrl = input.challengeRedirectUrl;
      if (input.processorReference) patch.processorReference = input.processorReference;
      if (input.threeDSUrl) {
        patch.threeDS = true;
        patch.threeDSUrl = input.threeDSUrl;
      }
      if (input.refund) patch.refund = { ...input.refund, date: new Date(input.date) };
      const prior = await applyProjectionFrom(deps.db, input.paymentKey, input.seq, patch, input.historyLength);
      // Only the write that changed the record counts what it changed (a replayed or retried one changes nothing).
      if (prior) deps.metrics?.projectionApplied(prior, input);
    },

    async recordRefundReference(input: RefundReferenceInput): Promise<void> {
      await recordReference(deps.db, {
        _id: input.reference,
        kind: 'refund',
        paymentKey: input.paymentKey,
        merchantId: input.merchantId,
        mode: input.mode,
      });
    },

    /** The payment has ended: its card data goes. */
    async releaseCard(input: { vaultToken: string }): Promise<void> {
      await deleteCard(deps.db, input.vaultToken);
    },
  };
}

export type PaymentActivities = ReturnType<typeof createPaymentActivities>;
