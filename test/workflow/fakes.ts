import { ApplicationFailure } from '@temporalio/activity';
import type { Activities } from '../../activities';
import {
  type AuthorizationCheckInput,
  type AuthorizeInput,
  type MovementInput,
  type ProjectionInput,
  type RefundReferenceInput,
  type AuthorizeOutcome,
  type CaptureOutcome,
  type RefundOutcome,
  type VoidOutcome,
  type DeliverWebhookInput,
  type PaymentInput,
  type PaymentStatus,
  type RefundStatus,
  FAILURE_CARD_UNAVAILABLE,
  paymentWorkflowId,
} from '../../workflows/vocabulary';
import type { CardData } from '../../activities/psp/adapter';

/**
 * In-memory stand-ins for every activity of `createActivities`, shared by the whole workflow suite (the worker
 * runs in the test process, so the fakes and the tests see the same objects). Everything is keyed per payment,
 * so tests never see each other's calls: processor calls by idempotency key (the workflow id), projections and
 * webhooks by payment key, card data by vault token.
 */

/** The raw card number sits only in the fake vault, which no fake activity hands to the workflow. */
export const TEST_PAN = '4111111111111111';
export const MASKED_PAN = '411111******1111';
const MERCHANT_ID = 'mer_wftest';

/** A point where a fake stops until the test lets it go on. */
export class Gate {
  private release: () => void = () => undefined;
  private readonly opened = new Promise<void>((resolve) => {
    this.release = resolve;
  });
  /** How many calls have reached the gate (and are waiting while it is closed). */
  reached = 0;

  open(): void {
    this.release();
  }

  async pass(): Promise<void> {
    this.reached++;
    await this.opened;
  }
}

type Answer<T> = T | Promise<T>;
/** How the fake processor answers one payment; `call` counts this operation's calls for the key, from 1. */
export interface ProcessorScript {
  authorize?: (input: AuthorizeInput, call: number) => Answer<AuthorizeOutcome>;
  capture?: (input: MovementInput, call: number) => Answer<CaptureOutcome>;
  refund?: (input: MovementInput, call: number) => Answer<RefundOutcome>;
  void?: (input: MovementInput, call: number) => Answer<VoidOutcome>;
  /** Where an authorization this payment's authorize answered stands when the workflow checks it. */
  check?: (input: AuthorizationCheckInput, call: number) => Answer<AuthorizeOutcome>;
}
/** Throw to fail a delivery attempt; `attempt` is Temporal's attempt number. */
export type WebhookScript = (input: DeliverWebhookInput, attempt: number) => Answer<void>;

export interface ProjectionDoc {
  seq: number;
  status: PaymentStatus;
  message: string;
  threeDSUrl?: string;
  challengeRedirectUrl?: string;
  refund?: { reference: string; status: RefundStatus; message: string };
}

export interface WebhookAttempt {
  deliveryId: string;
  event: DeliverWebhookInput['event'];
  attempt: number;
  /** The Message the event carries. */
  message: string;
  delivered: boolean;
  /** What the projection said when the attempt started. */
  statusAtAttempt: PaymentStatus | undefined;
}

export interface TestPayment {
  input: PaymentInput;
  workflowId: string;
  paymentKey: string;
}

let paymentCounter = 0;

export class FakeWorld {
  readonly vault = new Map<string, CardData>();
  readonly releasedCards: string[] = [];
  /** Every processor call, by operation and idempotency key. */
  readonly ledger = {
    authorize: new Map<string, AuthorizeInput[]>(),
    capture: new Map<string, MovementInput[]>(),
    refund: new Map<string, MovementInput[]>(),
    void: new Map<string, MovementInput[]>(),
    /** Authorization checks, by the workflow id of the payment whose authorize handed out the reference. */
    check: new Map<string, AuthorizationCheckInput[]>(),
  };
  /** Which payment's authorize handed out a processor reference, so a check finds that payment's script. */
  private readonly referenceOwners = new Map<string, string>();
  readonly projections = new Map<string, ProjectionDoc>();
  /** Every projection write, applied or refused by the seq guard, with the state after it. */
  readonly projectionWrites = new Map<
    string,
    { input: ProjectionInput; applied: boolean; after: ProjectionDoc | undefined }[]
  >();
  readonly refundReferences: RefundReferenceInput[] = [];
  readonly webhookAttempts = new Map<string, WebhookAttempt[]>();
  readonly processorScripts = new Map<string, ProcessorScript>();
  readonly webhookScripts = new Map<string, WebhookScript>();
  /** Card releases that wait for the test, by vault token. */
  readonly releaseGates = new Map<string, Gate>();

  /** A new payment with its own Tid: the card in the vault (its record is the workflow's first write). */
  payment(name: string, overrides: Partial<PaymentInput> = {}, options: { vaultCard?: boolean } = {}): TestPayment {
    const tid = `${name}-${Date.now().toString(36)}-${++paymentCounter}`;
    const paymentKey = `test:${MERCHANT_ID}:${tid}`;
    const vaultToken = `vt_${tid}`;
    const input: PaymentInput = {
      paymentKey,
      mode: 'test',
      merchantId: MERCHANT_ID,
      tid,
      reference: `pay_${tid}`,
      uid: 'user-1',
      amount: 1999,
      currency: 'EUR',
      maskedPan: MASKED_PAN,
      brand: 'visa',
      vaultToken,
      connector: 'fake',
      callbackUrl: 'https://merchant.example/hooks',
      threeDSRequested: false,
      threeDSUrl: `https://pay.example/v1/3ds/pay_${tid}`,
      threeDSTimeoutMs: 2_000,
      refundWindowMs: 3_000,
      webhook: { attemptTimeoutMs: 10_000, initialBackoffMs: 100, retryForMs: 60_000 },
      ...overrides,
    };
    if (options.vaultCard !== false)
      this.vault.set(vaultToken, { number: TEST_PAN, month: 12, year: 2040, cvv: '123' });
    return { input, workflowId: paymentWorkflowId('test', MERCHANT_ID, tid), paymentKey };
  }

  script(payment: TestPayment, script: ProcessorScript): void {
    this.processorScripts.set(payment.workflowId, script);
  }

  scriptWebhooks(payment: TestPayment, script: WebhookScript): void {
    this.webhookScripts.set(payment.paymentKey, script);
  }

  holdCardRelease(payment: TestPayment, gate: Gate): void {
    this.releaseGates.set(payment.input.vaultToken, gate);
  }

  authorizeCalls(payment: TestPayment): AuthorizeInput[] {
    return this.ledger.authorize.get(payment.workflowId) ?? [];
  }

  checkCalls(payment: TestPayment): AuthorizationCheckInput[] {
    return this.ledger.check.get(payment.workflowId) ?? [];
  }

  captureCalls(payment: TestPayment): MovementInput[] {
    return this.ledger.capture.get(payment.workflowId) ?? [];
  }

  refundCalls(payment: TestPayment): MovementInput[] {
    return [...this.ledger.refund.entries()]
      .filter(([key]) => key.startsWith(`${payment.workflowId}:refund:`))
      .flatMap(([, calls]) => calls);
  }

  voidCalls(payment: TestPayment): MovementInput[] {
    return [...this.ledger.void.entries()]
      .filter(([key]) => key.startsWith(`${payment.workflowId}:`))
      .flatMap(([, calls]) => calls);
  }

  writes(payment: TestPayment) {
    return this.projectionWrites.get(payment.paymentKey) ?? [];
  }

  attempts(payment: TestPayment): WebhookAttempt[] {
    return this.webhookAttempts.get(payment.paymentKey) ?? [];
  }

  deliveries(payment: TestPayment): WebhookAttempt[] {
    return this.attempts(payment).filter((a) => a.delivered);
  }

  activities(): Activities {
    const record = <T>(map: Map<string, T[]>, key: string, value: T): number => {
      const calls = map.get(key) ?? [];
      calls.push(value);
      map.set(key, calls);
      return calls.length;
    };
    // Refund keys are `{workflowId}:refund:{reference}`, the void's `{workflowId}:void`: the script is the payment's.
    const scriptFor = (idempotencyKey: string): ProcessorScript =>
      this.processorScripts.get(idempotencyKey.split(/:refund:|:void$/)[0]!) ?? {};

    return {
      authorizePayment: async (input) => {
        const call = record(this.ledger.authorize, input.idempotencyKey, input);
        // As the real activity: no card in the vault is a named failure that no retry can fix.
        if (!this.vault.has(input.vaultToken)) {
          throw ApplicationFailure.nonRetryable('card data is no longer in the vault', FAILURE_CARD_UNAVAILABLE);
        }
        const answer = scriptFor(input.idempotencyKey).authorize;
        const outcome: AuthorizeOutcome = answer
          ? await answer(input, call)
          : { kind: 'approved', pspReference: `psp_${input.idempotencyKey}` };
        if ('pspReference' in outcome && outcome.pspReference)
          this.referenceOwners.set(outcome.pspReference, input.idempotencyKey);
        return outcome;
      },
      checkAuthorization: async (input) => {
        const owner = this.referenceOwners.get(input.pspReference) ?? input.pspReference;
        const call = record(this.ledger.check, owner, input);
        const answer = this.processorScripts.get(owner)?.check;
        return answer ? await answer(input, call) : { kind: 'approved', pspReference: input.pspReference };
      },
      capturePayment: async (input) => {
        const call = record(this.ledger.capture, input.idempotencyKey, input);
        const answer = scriptFor(input.idempotencyKey).capture;
        return answer ? await answer(input, call) : { kind: 'captured' };
      },
      refundPayment: async (input) => {
        const call = record(this.ledger.refund, input.idempotencyKey, input);
        const answer = scriptFor(input.idempotencyKey).refund;
        return answer ? await answer(input, call) : { kind: 'refunded', pspReference: `psr_${input.idempotencyKey}` };
      },
      // As insertPayment: the first write wins, a retry changes nothing.
      recordPayment: ({ payment, message }) => {
        if (!this.projections.has(payment.paymentKey))
          this.projections.set(payment.paymentKey, { seq: 0, status: 'pending', message });
        return Promise.resolve();
      },
      voidAuthorization: async (input) => {
        const call = record(this.ledger.void, input.idempotencyKey, input);
        const answer = scriptFor(input.idempotencyKey).void;
        return answer ? await answer(input, call) : { kind: 'voided' };
      },
      // The same guard as applyProjection: only a newer seq moves the document, and only an existing one.
      projectPayment: (input) => {
        const doc = this.projections.get(input.paymentKey);
        const applied = doc !== undefined && doc.seq < input.seq;
        if (applied) {
          if (input.status) doc.status = input.status;
          if (input.message) doc.message = input.message;
          if (input.threeDSUrl) doc.threeDSUrl = input.threeDSUrl;
          if (input.challengeRedirectUrl) doc.challengeRedirectUrl = input.challengeRedirectUrl;
          if (input.refund) doc.refund = input.refund;
          doc.seq = input.seq;
        }
        record(this.projectionWrites, input.paymentKey, { input, applied, after: doc && { ...doc } });
        return Promise.resolve();
      },
      recordRefundReference: (input) => {
        this.refundReferences.push(input);
        return Promise.resolve();
      },
      releaseCard: async (input) => {
        await this.releaseGates.get(input.vaultToken)?.pass();
        this.vault.delete(input.vaultToken);
        this.releasedCards.push(input.vaultToken);
      },
      deliverWebhook: async (input) => {
        const attempt: WebhookAttempt = {
          deliveryId: input.deliveryId,
          event: input.event,
          attempt: input.attempt,
          message: input.payload.message,
          delivered: false,
          statusAtAttempt: this.projections.get(input.paymentKey)?.status,
        };
        record(this.webhookAttempts, input.paymentKey, attempt);
        await this.webhookScripts.get(input.paymentKey)?.(input, attempt.attempt);
        attempt.delivered = true;
        return { delivered: true, httpStatus: 200, permanent: false };
      },
      recordSelfCheck: (input) =>
        Promise.resolve({ checkId: input.checkId, worker: 'fake', writtenAt: new Date().toISOString() }),
    };
  }
}

/** Polls until `predicate` holds: for effects the test cannot await directly (activities, timers). */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
