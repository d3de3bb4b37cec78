import { randomUUID } from 'node:crypto';
import {
  type AuthorizeRequest,
  type MovementRequest,
  type PspAdapter,
  PspUnavailableError,
} from '../../activities/psp/adapter';
import {
  type AuthorizeOutcome,
  type Mode,
  PROCESSOR_HOSTED_CHALLENGES,
  type ProcessorAccount,
  paymentWorkflowId,
} from '../../workflows/vocabulary';
import { cardDataIn } from '../support/card-scan';

/**
 * The connector conformance suite (docs/connectors.md, "Adding the next connector"): what every processor
 * connector must answer, in the normalized outcomes of workflows/vocabulary.ts that the payment workflow acts on,
 * whatever the processor. A driver (test/connectors/drivers/) says how to make ITS processor play each scenario:
 * which card, which stub answer or fault, which processor records show what happened. A scenario a processor
 * cannot play is `unsupported`, with the reason, and shows as a skipped test whose title gives that reason.
 *
 * The requests are built as the workflow builds them (workflows/payment-workflow.ts): the authorization keyed by
 * the workflow id, the capture by the workflow id, the void by `{workflowId}:void`, a refund by
 * `{workflowId}:refund:{Reference}`; the merchant's account, the payment's labels and the 3-D Secure return URL.
 */

export interface Unsupported {
  /** Why this processor cannot play the scenario; shown in the skipped test's title. */
  unsupported: string;
}
export type Playable<P> = P | Unsupported;

/** A processor call that moves money or releases it, or the authorization itself. */
export type Operation = 'authorize' | 'capture' | 'void' | 'refund';

/** One authorization attempt: the card it is made with, and how the processor is set up for it first. */
export interface AuthorizationPlay {
  card: string;
  /** Makes the processor play this scenario (which answers it gives, which faults its next calls meet). */
  arrange?(): void | Promise<void>;
}

export interface DeclinePlay extends AuthorizationPlay {
  /** The Message this connector gives for the family, where it promises one (the sandbox's are documented). */
  message?: string;
}

export interface ChallengePlay extends AuthorizationPlay {
  /**
   * The cardholder completes the challenge. On SettleFlow's own page (a processor that does not host it) the
   * workflow then authorizes again, `authenticated`; on the processor's page, it asks the processor
   * (`checkAuthorization`). This sets up what the processor answers then.
   */
  complete?(): void | Promise<void>;
}

export interface FailedChallengePlay extends ChallengePlay {
  /** Whether the decline says the cardholder failed authentication (the workflow then ends `rejected_pw`). */
  authenticationFailed: boolean;
}

export interface ProcessingPlay extends AuthorizationPlay {
  /** The processor decides (approves) the authorization it was processing. */
  decide(): void | Promise<void>;
}

/** A capture or a refund the processor refuses: set up after the authorization, before the call. */
export interface RefusalPlay {
  /** The card of the authorization; absent: the approving play's. */
  card?: string;
  arrange?(): void | Promise<void>;
}

export interface LostAnswerPlay {
  /** The next call of `operation` reaches the processor, which acts on it, and its answer never comes back. */
  lose(operation: Operation): void | Promise<void>;
}

/** What identifies a payment's calls at the processor. */
export interface PaymentAtProcessor {
  workflowId: string;
  /** The authorization, for the operations on it. */
  pspReference?: string;
}

/** What the processor received for one operation of one payment. */
export interface ProcessorSaw {
  /** Calls that reached it, or met a fault on the way (a retry is a call). */
  calls: number;
  /** The idempotency key each call carried, in order, as the processor received it. */
  keys: (string | undefined)[];
}

export interface ConformanceDriver {
  /** The mode of the merchant's processor account the payments go to. */
  mode: Mode;
  /** Starts what the processor needs, and resolves with the connector as the worker would build it. */
  start(): Promise<PspAdapter>;
  stop(): Promise<void>;
  /** Before each scenario: back to approving everything, no fault pending. */
  reset?(): void | Promise<void>;
  plays: {
    approve: AuthorizationPlay;
    declines: Record<'generic' | 'insufficient funds' | 'expired card', Playable<DeclinePlay>>;
    /** The processor fails transiently (5xx, 429, timeout) on the next tries, then answers. */
    transientFault: Playable<AuthorizationPlay>;
    challengeApproved: Playable<ChallengePlay>;
    challengeDeclined: Playable<FailedChallengePlay>;
    processing: Playable<ProcessingPlay>;
    captureRefused: Playable<RefusalPlay>;
    refundRefused: Playable<RefusalPlay>;
    lostAnswer: Playable<LostAnswerPlay>;
  };
  /** The calls the processor received (its call log, or the recorded traffic). */
  seen(operation: Operation, payment: PaymentAtProcessor): Promise<ProcessorSaw>;
  /** How many times the processor itself recorded the operation as done, from its own records. */
  performed: Playable<(operation: Operation, payment: PaymentAtProcessor) => Promise<number>>;
}

const MERCHANT = 'mer_conformance';
const AMOUNT = 1999;
const CURRENCY = 'EUR';

/** A payment as the workflow would make it, with its requests. */
function newPayment(mode: Mode) {
  const tid = `conformance-${randomUUID()}`;
  const workflowId = paymentWorkflowId(mode, MERCHANT, tid);
  const reference = `pr_${randomUUID().replace(/-/g, '')}`;
  const account: ProcessorAccount = { merchantId: MERCHANT, mode };
  const movement = (idempotencyKey: string, pspReference: string): MovementRequest => ({
    idempotencyKey,
    pspReference,
    amount: AMOUNT,
    currency: CURRENCY,
    account,
  });
  return {
    workflowId,
    account,
    authorize: (card: string, authenticated = false): AuthorizeRequest => ({
      idempotencyKey: workflowId,
      amount: AMOUNT,
      currency: CURRENCY,
      card: { number: card, month: 12, year: new Date().getUTCFullYear() + 3, cvv: '737' },
      authenticated,
      customer: { email: 'conformance@example.com', description: 'Conformance order' },
      account,
      labels: { workflowId, reference, tid },
      returnUrl: `https://api.settleflow.example/v1/3ds/${reference}/return`,
    }),
    capture: (pspReference: string) => movement(workflowId, pspReference),
    void: (pspReference: string) => movement(`${workflowId}:void`, pspReference),
    refund: (pspReference: string, refundReference = 'ref_conformance1') =>
      movement(`${workflowId}:refund:${refundReference}`, pspReference),
  };
}
type Payment = ReturnType<typeof newPayment>;

const isUnsupported = <P>(play: Playable<P>): play is Unsupported =>
  typeof play === 'object' && play !== null && 'unsupported' in play;

/** What the workflow keeps of an outcome goes into Temporal's history: never card data. */
function expectNoCardData(what: string, value: unknown): void {
  expect(cardDataIn(what, typeof value === 'string' ? value : JSON.stringify(value))).toEqual([]);
}

/** A Message the merchant can read: some text, no card data. */
function expectReadableMessage(outcome: { message?: string }): void {
  expect(outcome.message).toEqual(expect.stringMatching(/\S/));
  expectNoCardData('message', outcome.message);
}

/**
 * Calls the processor again while it fails transiently, as Temporal retries the activity, with the very same
 * request (so the same idempotency key); the outcome and the number of tries that failed.
 */
async function retriedLikeTemporal<T>(call: () => Promise<T>, limit = 5): Promise<{ outcome: T; failures: number }> {
  for (let failures = 0; ; failures++) {
    try {
      return { outcome: await call(), failures };
    } catch (err) {
      if (!(err instanceof PspUnavailableError) || failures + 1 >= limit) throw err;
      expectNoCardData('transient failure', err.message);
    }
  }
}

export function describeConnectorConformance(name: string, driver: ConformanceDriver): void {
  describe(`connector conformance: ${name}`, () => {
    let connector: PspAdapter;
    const { plays } = driver;
    /** The operations the scenarios retried, for the processor's own records at the end. */
    const retried: { operation: Operation; payment: PaymentAtProcessor }[] = [];

    beforeAll(async () => {
      connector = await driver.start();
    }, 120_000);
    afterAll(() => driver.stop());
    beforeEach(() => driver.reset?.());

    /** A test, or a skipped one that says why this processor cannot play it: never left out silently. */
    function scenario<P>(title: string, play: Playable<P>, body: (play: P) => Promise<void>): void {
      if (isUnsupported(play)) it.skip(`${title} [unsupported by ${name}: ${play.unsupported}]`, () => {});
      else it(title, () => body(play));
    }

    /** A new payment's first authorization, once the play has set the processor up. */
    async function authorizeNew(play: AuthorizationPlay) {
      const payment = newPayment(driver.mode);
      await play.arrange?.();
      const request = payment.authorize(play.card);
      const outcome = await connector.authorize(request);
      expectNoCardData('outcome', outcome);
      return { payment, request, outcome };
    }

    /** The processor's reference on an outcome of this kind, which must carry one. */
    function referenceOf(outcome: AuthorizeOutcome, kind: 'approved' | 'processing'): string {
      expect(outcome).toEqual({ kind, pspReference: expect.stringMatching(/\S/) });
      return (outcome as { pspReference: string }).pspReference;
    }

    /** What the workflow reads when it asks the processor (after its challenge, while processing, at a timeout). */
    async function expectCheckedApproved(payment: Payment, pspReference: string): Promise<void> {
      expect(await connector.checkAuthorization({ account: payment.account, pspReference })).toEqual({
        kind: 'approved',
        pspReference,
      });
    }

    async function authorized(card = plays.approve.card): Promise<{ payment: Payment; pspReference: string }> {
      const { payment, outcome } = await authorizeNew({ ...plays.approve, card });
      return { payment, pspReference: referenceOf(outcome, 'approved') };
    }

    async function captured(card?: string): Promise<{ payment: Payment; pspReference: string }> {
      const { payment, pspReference } = await authorized(card);
      expect(await connector.capture(payment.capture(pspReference))).toEqual({ kind: 'captured' });
      return { payment, pspReference };
    }

    /** Every call of the operation carried one key, derived from the request's (the workflow id and the step). */
    async function expectOneKey(operation: Operation, payment: PaymentAtProcessor, requestKey: string, tries: number) {
      const saw = await driver.seen(operation, payment);
      expect(saw.calls).toBeGreaterThanOrEqual(tries);
      const keys = new Set(saw.keys);
      expect(keys.size).toBe(1);
      const [key] = [...keys];
      expect(key?.startsWith(requestKey)).toBe(true);
      retried.push({ operation, payment });
    }

    scenario(
      'approves: approved with a processor reference, which a later check reads as approved',
      plays.approve,
      async (play) => {
        const { payment, outcome } = await authorizeNew(play);
        await expectCheckedApproved(payment, referenceOf(outcome, 'approved'));
      },
    );

    for (const [family, decline] of Object.entries(plays.declines)) {
      scenario(`declines (${family}): declined, with a readable Message and no card data`, decline, async (play) => {
        const { outcome } = await authorizeNew(play);
        expect(outcome.kind).toBe('declined');
        const declined = outcome as Extract<AuthorizeOutcome, { kind: 'declined' }>;
        expectReadableMessage(declined);
        // Not a failed challenge: the workflow ends this payment `failed`, not `rejected_pw`.
        expect(declined.authenticationFailed ?? false).toBe(false);
        if (play.message !== undefined) expect(declined.message).toBe(play.message);
      });
    }

    scenario(
      'a transient fault is thrown as PspUnavailableError; the retry under the same idempotency key gets the one authorization',
      plays.transientFault,
      async (play) => {
        const payment = newPayment(driver.mode);
        await play.arrange?.();
        const request = payment.authorize(play.card);
        const { outcome, failures } = await retriedLikeTemporal(() => connector.authorize(request));
        expect(failures).toBeGreaterThan(0);
        referenceOf(outcome, 'approved');
        await expectOneKey('authorize', { workflowId: payment.workflowId }, request.idempotencyKey, failures + 1);
      },
    );

    const hostsChallenges = () => PROCESSOR_HOSTED_CHALLENGES.includes(connector.name);

    /**
     * Authorizes a card the issuer wants authenticated: challenge_required, with the processor's page when the
     * processor hosts the challenge (PROCESSOR_HOSTED_CHALLENGES, which the workflow reads), without one when
     * SettleFlow's own page challenges. Then the cardholder completes it, and the authorization reads as
     * the workflow would read it.
     */
    async function throughChallenge(play: ChallengePlay): Promise<AuthorizeOutcome> {
      const { payment, request, outcome: challenge } = await authorizeNew(play);
      await play.complete?.();
      if (hostsChallenges()) {
        expect(challenge).toEqual({
          kind: 'challenge_required',
          pspReference: expect.stringMatching(/\S/),
          redirectUrl: expect.stringMatching(/^https:\/\//),
        });
        const { pspReference } = challenge as { pspReference: string };
        return connector.checkAuthorization({ account: payment.account, pspReference });
      }
      expect(challenge).toEqual({ kind: 'challenge_required' });
      return connector.authorize({ ...request, authenticated: true });
    }

    scenario(
      '3-D Secure required: challenge_required, then approved once the cardholder completed it',
      plays.challengeApproved,
      async (play) => {
        referenceOf(await throughChallenge(play), 'approved');
      },
    );

    scenario(
      '3-D Secure required: challenge_required, then declined after the challenge',
      plays.challengeDeclined,
      async (play) => {
        const outcome = await throughChallenge(play);
        expect(outcome.kind).toBe('declined');
        const declined = outcome as Extract<AuthorizeOutcome, { kind: 'declined' }>;
        expectReadableMessage(declined);
        expect(declined.authenticationFailed ?? false).toBe(play.authenticationFailed);
      },
    );

    scenario(
      'processing: the processor decides later, and a check of the same reference reads its decision',
      plays.processing,
      async (play) => {
        const { payment, outcome } = await authorizeNew(play);
        const pspReference = referenceOf(outcome, 'processing');
        await play.decide();
        await expectCheckedApproved(payment, pspReference);
      },
    );

    scenario(
      'captures an approved authorization; the same capture again is captured, not an error',
      plays.approve,
      async () => {
        const { payment, pspReference } = await authorized();
        expect(await connector.capture(payment.capture(pspReference))).toEqual({ kind: 'captured' });
        expect(await connector.capture(payment.capture(pspReference))).toEqual({ kind: 'captured' });
      },
    );

    scenario(
      'a capture the processor refuses is failed, with a Message (the workflow then voids)',
      plays.captureRefused,
      async (play) => {
        const { payment, pspReference } = await authorized(play.card);
        await play.arrange?.();
        const outcome = await connector.capture(payment.capture(pspReference));
        expect(outcome.kind).toBe('failed');
        expectReadableMessage(outcome as { message: string });
      },
    );

    scenario('voids an approved authorization; the same void again is voided', plays.approve, async () => {
      const { payment, pspReference } = await authorized();
      expect(await connector.void(payment.void(pspReference))).toEqual({ kind: 'voided' });
      expect(await connector.void(payment.void(pspReference))).toEqual({ kind: 'voided' });
    });

    scenario("refunds a captured payment: refunded, with the refund's processor reference", plays.approve, async () => {
      const { payment, pspReference } = await captured();
      const outcome = await connector.refund(payment.refund(pspReference));
      expect(outcome).toEqual({ kind: 'refunded', pspReference: expect.stringMatching(/\S/) });
    });

    scenario('a refund the processor refuses is failed, with a Message', plays.refundRefused, async (play) => {
      const { payment, pspReference } = await captured(play.card);
      await play.arrange?.();
      const outcome = await connector.refund(payment.refund(pspReference));
      expect(outcome.kind).toBe('failed');
      expectReadableMessage(outcome as { message: string });
    });

    const AFTER_LOST_ANSWER: Record<Operation, string> = {
      authorize: 'approved',
      capture: 'captured',
      void: 'voided',
      refund: 'refunded',
    };
    for (const operation of Object.keys(AFTER_LOST_ANSWER) as Operation[]) {
      scenario(
        `a lost answer to ${operation} (timeout): PspUnavailableError, and the retry carries the same idempotency key`,
        plays.lostAnswer,
        async (play) => {
          let payment: Payment;
          let pspReference: string | undefined;
          let call: () => Promise<{ kind: string }>;
          let requestKey: string;
          if (operation === 'authorize') {
            payment = newPayment(driver.mode);
            await plays.approve.arrange?.();
            const request = payment.authorize(plays.approve.card);
            requestKey = request.idempotencyKey;
            call = () => connector.authorize(request);
          } else {
            ({ payment, pspReference } = await (operation === 'refund' ? captured() : authorized()));
            const request = payment[operation](pspReference);
            requestKey = request.idempotencyKey;
            call = () => connector[operation](request);
          }
          await play.lose(operation);
          const { outcome, failures } = await retriedLikeTemporal(call);
          expect(failures).toBeGreaterThan(0);
          expect(outcome.kind).toBe(AFTER_LOST_ANSWER[operation]);
          await expectOneKey(operation, { workflowId: payment.workflowId, pspReference }, requestKey, failures + 1);
        },
      );
    }

    scenario(
      "the processor's own records: each operation retried above was performed once",
      driver.performed,
      async (performed) => {
        expect(retried.length).toBeGreaterThan(0);
        for (const { operation, payment } of retried) {
          expect({ operation, payment, performed: await performed(operation, payment) }).toEqual({
            operation,
            payment,
            performed: 1,
          });
        }
      },
    );
  });
}
