import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { isDuplicateKeyError } from '../../src/store/payment-records';
import {
  type AuthorizationCheck,
  type AuthorizeRequest,
  type MovementRequest,
  type PspAdapter,
  PspUnavailableError,
} from './adapter';
import {
  type AuthorizeOutcome,
  type CaptureOutcome,
  type RefundOutcome,
  type VoidOutcome,
} from '../../workflows/vocabulary';

/**
 * The sandbox card simulator: a processor with the behaviours of the test cards (docs/sandbox.md) and a ledger
 * of its own in MongoDB. Every money movement, and every void (the release of an authorization), is one ledger
 * document keyed by `{operation}:{idempotencyKey}`, inserted before it is reported: a repeated key gets the first outcome back and moves nothing, as a real
 * processor's idempotency does. A movement under a *different* key is a second document, i.e. money moved twice:
 * each entry names the authorization it belongs to (`pspReference`), so the tests add up the money moved per
 * payment whatever key was used (test/support/money.ts). Every call, repeats included, is also kept in the
 * attempts log (simulator-calls.ts).
 */
export interface LedgerDoc {
  _id: string;
  operation: 'authorize' | 'capture' | 'refund' | 'void';
  idempotencyKey: string;
  /** The authorization this entry belongs to: its own for an approved authorization, the one moved on otherwise. */
  pspReference?: string;
  amount: number;
  currency: string;
  outcome: AuthorizeOutcome | CaptureOutcome | RefundOutcome | VoidOutcome;
  createdAt: Date;
}

export const simulatorLedger = (db: Db) => db.collection<LedgerDoc>('simulator_ledger');
const simulatorAttempts = (db: Db) => db.collection<{ _id: string; count: number }>('simulator_attempts');

/** The test cards' declines (docs/sandbox.md); the metrics' decline reasons (docs/metrics.md) must know each. */
export const DECLINES: Readonly<Record<string, string>> = {
  '4000000000000002': 'Card declined',
  '4000000000009995': 'Insufficient funds',
  '4000000000000069': 'Expired card',
};
/** Cards whose issuer demands 3-D Secure whatever the merchant asked. */
const CHALLENGE_CARDS = new Set(['4000000000003220', '4000008400001629', '6759649826438453']);
/** Approved only after authentication, then declined at authorization. */
export const DECLINED_AFTER_CHALLENGE: Readonly<Record<string, string>> = { '4000008400001629': 'Card declined' };
/** Fails transiently on its first two authorization attempts. */
const FLAKY_CARD = '4000000000000119';
const FLAKY_FAILURES = 2;
/** Approved at authorization, then its capture is declined: the workflow voids the authorization. */
const CAPTURE_DECLINED_CARD = '4000000000000267';
const CAPTURE_DECLINED_MESSAGE = 'Capture declined by the issuer';

const pspReference = () => `sim_${randomBytes(12).toString('hex')}`;
/**
 * A capture names only the processor's reference, never the card. As a real processor knows its own
 * authorizations, the simulator writes what the capture must do into the reference it hands out: no lookup.
 */
const CAPTURE_DECLINED_PREFIX = 'sim_cd_';
const captureDeclinedReference = () => `${CAPTURE_DECLINED_PREFIX}${randomBytes(12).toString('hex')}`;

export class SandboxSimulator implements PspAdapter {
  readonly name = 'simulator';

  constructor(
    private readonly db: Db,
    private readonly latencyMs = 0,
  ) {}

  /** A real processor answers in hundreds of milliseconds; tests and benchmarks may ask for the same. */
  private async latency(): Promise<void> {
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome> {
    await this.latency();
    const key = `authorize:${request.idempotencyKey}`;
    // A repeat is answered from the ledger by record(), whose insert finds the first answer there: no read first.
    const card = request.card.number;
    if (CHALLENGE_CARDS.has(card) && !request.authenticated) return { kind: 'challenge_required' };
    if (card === FLAKY_CARD) {
      const attempts = await simulatorAttempts(this.db).findOneAndUpdate(
        { _id: key },
        { $inc: { count: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      if ((attempts?.count ?? 1) <= FLAKY_FAILURES) throw new PspUnavailableError('simulator: processor timeout');
    }
    const declined = DECLINES[card] ?? DECLINED_AFTER_CHALLENGE[card];
    const reference = card === CAPTURE_DECLINED_CARD ? captureDeclinedReference() : pspReference();
    const outcome: AuthorizeOutcome = declined
      ? { kind: 'declined', message: declined }
      : { kind: 'approved', pspReference: reference };
    return (await this.record(
      'authorize',
      request.idempotencyKey,
      request.amount,
      request.currency,
      outcome,
    )) as AuthorizeOutcome;
  }

  /** The simulator decides at once, so an authorization stands as its ledger recorded it. */
  async checkAuthorization(request: AuthorizationCheck): Promise<AuthorizeOutcome> {
    await this.latency();
    const entry = await simulatorLedger(this.db).findOne({
      operation: 'authorize',
      pspReference: request.pspReference,
    });
    return entry ? (entry.outcome as AuthorizeOutcome) : { kind: 'declined', message: 'Authorization not found' };
  }

  /** A declined capture moves no money, so it leaves no ledger entry (and answers the same on every retry). */
  async capture(request: MovementRequest): Promise<CaptureOutcome> {
    await this.latency();
    if (request.pspReference.startsWith(CAPTURE_DECLINED_PREFIX))
      return { kind: 'failed', message: CAPTURE_DECLINED_MESSAGE };
    return (await this.record(
      'capture',
      request.idempotencyKey,
      request.amount,
      request.currency,
      { kind: 'captured' },
      request.pspReference,
    )) as CaptureOutcome;
  }

  async refund(request: MovementRequest): Promise<RefundOutcome> {
    await this.latency();
    const outcome: RefundOutcome = { kind: 'refunded', pspReference: pspReference() };
    return (await this.record(
      'refund',
      request.idempotencyKey,
      request.amount,
      request.currency,
      outcome,
      request.pspReference,
    )) as RefundOutcome;
  }

  async void(request: MovementRequest): Promise<VoidOutcome> {
    await this.latency();
    return (await this.record(
      'void',
      request.idempotencyKey,
      request.amount,
      request.currency,
      { kind: 'voided' },
      request.pspReference,
    )) as VoidOutcome;
  }

  /** Inserts the movement, or returns the outcome already recorded under the same idempotency key. */
  private async record(
    operation: LedgerDoc['operation'],
    idempotencyKey: string,
    amount: number,
    currency: string,
    outcome: LedgerDoc['outcome'],
    movedOn?: string,
  ): Promise<LedgerDoc['outcome']> {
    const _id = `${operation}:${idempotencyKey}`;
    const pspReference =
      movedOn ?? ('pspReference' in outcome && operation === 'authorize' ? outcome.pspReference : undefined);
    try {
      await simulatorLedger(this.db).insertOne({
        _id,
        operation,
        idempotencyKey,
        ...(pspReference ? { pspReference } : {}),
        amount,
        currency,
        outcome,
        createdAt: new Date(),
      });
      return outcome;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      const existing = await simulatorLedger(this.db).findOne({ _id });
      return existing!.outcome;
    }
  }
}
