import type { Fault } from './plan';
import type { RecordedCall } from '../support/recording-proxy';

/**
 * The chaos run's checks on what it recorded, as plain functions (test/unit/chaos-checks.test.ts feeds them
 * broken records to show each one fails). Each returns the violations it found, empty when all is well.
 */

const PAYMENT_EVENTS: Record<string, string> = {
  PAYMENT_CAPTURED: 'captured',
  PAYMENT_FAILED: 'failed',
  PAYMENT_CANCELLED: 'cancelled',
  PAYMENT_REJECTED: 'rejected_pw',
};
const REFUND_EVENTS: Record<string, string> = { REFUND_SUCCEEDED: 'captured', REFUND_FAILED: 'failed' };

export interface ReceivedEvent {
  event: string;
  deliveryId: string;
  /** The webhook body's Result. */
  result: { OperationType?: string; Status?: string; Tid?: string; Reference?: string };
}

export interface FinalPayment {
  status: string;
  reference: string;
  refund?: { status: string; reference: string };
}

/**
 * Every event received (every delivery, answered 2xx or not) against the payment's final state: a payment event
 * must be the one its final status sends, a refund event must match the refund the payment shows, and the body
 * must say what the event says. Catches a PAYMENT_FAILED for a captured payment, a REFUND_SUCCEEDED for a payment
 * never refunded, an event for a Tid nobody paid with. Shown to fail with a scratch build whose workflow sends a
 * PAYMENT_FAILED after each PAYMENT_CAPTURED: every expected event still arrived, and this check flagged all 40
 * captured payments of the reduced round (RELIABILITY.md, "What the invariants check").
 */
export function wrongEvents(received: ReceivedEvent[], payments: Map<string, FinalPayment>): string[] {
  const problems = new Set<string>();
  for (const { event, deliveryId, result } of received) {
    const tid = result.Tid ?? '(no Tid)';
    const payment = payments.get(tid);
    const what = `${tid}: ${event} (delivery ${deliveryId}, body ${result.OperationType}/${result.Status})`;
    if (!payment) {
      problems.add(`${what} for a Tid no scenario paid with`);
    } else if (event in PAYMENT_EVENTS) {
      if (PAYMENT_EVENTS[event] !== payment.status) problems.add(`${what} but the payment ended ${payment.status}`);
      else if (
        result.OperationType !== 'payment' ||
        result.Status !== payment.status ||
        result.Reference !== payment.reference
      )
        problems.add(`${what} does not describe the payment (${payment.status}, ${payment.reference})`);
    } else if (event in REFUND_EVENTS) {
      const { refund } = payment;
      if (!refund || REFUND_EVENTS[event] !== refund.status)
        problems.add(`${what} but the payment's refund is ${refund?.status ?? 'absent'}`);
      else if (
        result.OperationType !== 'refund' ||
        result.Status !== refund.status ||
        result.Reference !== refund.reference
      )
        problems.add(`${what} does not describe the refund (${refund.status}, ${refund.reference})`);
    } else {
      problems.add(`${what}: not an event SettleFlow sends`);
    }
  }
  return [...problems];
}

export interface FaultRecord {
  fault: Fault;
  /** Which process of several it hit (plan.ts, PlannedFault.target). */
  target?: string;
  /** The scenario whose start fired it. */
  at: number;
  /** Milliseconds since the run started: when the fault hit, and when the system was whole again. */
  hitAt: number;
  endedAt: number;
  /** Merchant and customer requests in flight at the instant the fault hit, by endpoint. */
  inFlight: Record<string, number>;
  /** Calls from the worker to Stripe still waiting for their answer at that instant (at the recording proxy). */
  stripeCallsInFlight?: number;
}

export const inFlightTotal = (record: FaultRecord) => Object.values(record.inFlight).reduce((sum, n) => sum + n, 0);

/**
 * A fault that hits an idle system proves nothing: each must have had requests in flight when it hit. Shown to
 * fail with a scratch plan holding one more kill-worker at `at` = the scenario count: it fired after the load and
 * was reported as hitting an idle system.
 */
export function faultsOnIdle(records: FaultRecord[], scheduled: number): string[] {
  const problems = records
    .filter((r) => inFlightTotal(r) === 0)
    .map((r) => `${r.fault} (scheduled at scenario ${r.at}) hit an idle system: no request in flight`);
  if (records.length !== scheduled) problems.push(`${scheduled} faults scheduled but ${records.length} fired`);
  return problems;
}

/**
 * What the shard records said while a history host was down (test/chaos/harness.ts polls them with
 * tools/temporal-cluster.ts `shardOwners` from the kill until the live host owns every shard, or a bound).
 */
export interface ShardMove {
  /** The host killed (`history-N`), and the addresses the shard records name for it and for the hosts left. */
  killed: string;
  killedAddress: string;
  liveAddresses: string[];
  /** The last reading before the host was started again: shard count by owner address. */
  owners: Record<string, number>;
  /** From the kill to that reading. */
  afterMs: number;
}

/**
 * A history host lost mid-load must hand its shards to the hosts left, or the workflows on them stand still until
 * it is back (which a run would not notice: the restart heals them). Each kill-history must have been watched,
 * and each time the hosts left owned every shard before the killed one came back. Shown to fail in
 * test/unit/chaos-checks.test.ts with a reading taken before the shards moved.
 */
export function shardMoveProblems(moves: ShardMove[], kills: number, shards: number): string[] {
  const problems: string[] = [];
  if (moves.length !== kills) problems.push(`${kills} history hosts killed but ${moves.length} shard moves watched`);
  for (const move of moves) {
    const left = move.liveAddresses.reduce((sum, address) => sum + (move.owners[address] ?? 0), 0);
    if (left === shards) continue;
    const owners = Object.entries(move.owners)
      .map(([owner, n]) => `${owner} ${n}`)
      .join(', ');
    problems.push(
      `${move.killed} (${move.killedAddress}) killed: ${Math.round(move.afterMs / 1000)} s later the hosts left (${move.liveAddresses.join(', ')}) owned ${left} of ${shards} shards (${owners || 'no shard records'})`,
    );
  }
  return problems;
}

export interface ChallengeMiss {
  tid: string;
  kind: string;
  /** Why the customer's answer did not get in, as the harness saw it. */
  why: string;
  /** Whether the hosted page itself said the authentication had expired (the 3DS timeout fired). */
  expired: boolean;
  /** Milliseconds since the run started: from the payment's answer to the harness giving up. */
  from: number;
  to: number;
}

/** The most challenges a run may miss: 5% of its challenge scenarios, at least one. */
export const allowedMisses = (challenges: number) => Math.max(1, Math.floor(challenges * 0.05));

/**
 * A customer kept from answering by a fault ends `cancelled`, as the contract says it must; but only if the page
 * really expired while a fault was going on, and only for a few of them, or a broken challenge path would hide as
 * "expected cancellations". Shown to fail with a scratch customer who waits 35 s (past the run's 30 s 3DS timeout)
 * before answering: 6 of 9 challenges missed against 1 allowed, two of them without the page expiring.
 */
export function challengeMissProblems(misses: ChallengeMiss[], challenges: number, faults: FaultRecord[]): string[] {
  const problems: string[] = [];
  const limit = allowedMisses(challenges);
  if (misses.length > limit)
    problems.push(`${misses.length} of ${challenges} 3DS challenges missed (at most ${limit} allowed)`);
  for (const miss of misses) {
    const during = faults.filter((f) => f.hitAt <= miss.to && f.endedAt >= miss.from);
    if (!miss.expired)
      problems.push(`${miss.kind} ${miss.tid}: challenge missed without the page expiring: ${miss.why}`);
    else if (during.length === 0)
      problems.push(`${miss.kind} ${miss.tid}: challenge missed while no fault was going on: ${miss.why}`);
  }
  return problems;
}

export function describeMiss(miss: ChallengeMiss, faults: FaultRecord[]): string {
  const during = faults.filter((f) => f.hitAt <= miss.to && f.endedAt >= miss.from).map((f) => f.fault);
  return `${miss.kind} ${miss.tid}: ${miss.why} (${Math.round((miss.to - miss.from) / 1000)} s; faults meanwhile: ${during.join(', ') || 'none'})`;
}

// ── Stripe: the recording proxy's log is the processor's ledger ──────────────────────────────────────────────

/** One call the connector made to Stripe, as the recording proxy kept it. */
export type ProcessorCall = RecordedCall;

/** A payment of the run's Stripe share, as its record ended. */
export interface StripePayment {
  workflowId: string;
  tid: string;
  status: string;
  amount: number;
  /** The record shows a refund that went through. */
  refunded: boolean;
}

/** What the processor did for one payment, by distinct idempotency key (several calls under one key are retries). */
export interface StripeMoves {
  /** Keys of PaymentIntents created (authorizations). */
  intents: string[];
  /** Keys of captures Stripe answered 2xx. */
  captures: string[];
  refunds: string[];
  /** Keys of cancellations (voids) Stripe answered 2xx. */
  cancels: string[];
  /** Every call that went to Stripe for the payment, retries included. */
  calls: number;
}

export interface StripeLedger {
  byPayment: Map<string, StripeMoves>;
  problems: string[];
}

const INTENT_PATH = /^\/v1\/payment_intents\/([^/?]+)(?:\/(capture|cancel|confirm))?(?:\?.*)?$/;
const ok = (call: ProcessorCall) => call.status !== undefined && call.status >= 200 && call.status < 300;

/**
 * The Stripe share's money, read from every call that went through the proxy the way money.ts reads the
 * simulator's ledger: a payment owns the calls made under its idempotency keys (`<workflow id>:<step>`) and, like an
 * auditor reading Stripe's dashboard, every call ON the PaymentIntent it created (capture, cancel, read, refund),
 * whatever key that call carried. So a second capture under another key, a capture of another payment's intent
 * or a call under no payment's key all show. Checked, per payment:
 *
 * - every call is one of the share's payments: a mutating call carries an Idempotency-Key that begins with the
 *   workflow id of the payment whose intent it acts on (reads carry none: Stripe takes no key on a GET);
 * - captured → exactly one capture key answered 2xx, for its amount; not captured → none;
 * - refunded → exactly one refund key answered 2xx, for its amount, after a capture; otherwise none;
 * - at most one authorization (PaymentIntent creation key), and one exists when money moved;
 * - a captured payment was never cancelled.
 *
 * Several calls under the SAME key are the retries the keys exist for (a worker killed mid-call, an answer lost):
 * Stripe answers them with its first result. stripe-mock keeps no state, so it answers each with a new object; the
 * check therefore counts keys, never the objects' ids.
 */
export function stripeLedger(calls: ProcessorCall[], payments: StripePayment[]): StripeLedger {
  const problems: string[] = [];
  const byWorkflow = new Map(payments.map((p) => [p.workflowId, p]));
  const byPayment = new Map<string, StripeMoves>(
    payments.map((p) => [p.workflowId, { intents: [], captures: [], refunds: [], cancels: [], calls: 0 }]),
  );
  // `<workflow id>:<step>`; a Tid may hold colons, so every colon is tried as the end of the workflow id.
  const ownerByKey = (key: string | undefined): StripePayment | undefined => {
    if (key === undefined) return undefined;
    for (let at = key.indexOf(':'); at > 0; at = key.indexOf(':', at + 1)) {
      const owner = byWorkflow.get(key.slice(0, at));
      if (owner) return owner;
    }
    return undefined;
  };
  const describe = (call: ProcessorCall) =>
    `${call.method} ${call.path} (key ${call.idempotencyKey ?? 'none'}, HTTP ${call.status ?? 'no answer'})`;

  // The PaymentIntents each payment created: what its later calls name.
  const intentOwner = new Map<string, StripePayment>();
  for (const call of calls) {
    if (call.method !== 'POST' || call.path !== '/v1/payment_intents' || !ok(call)) continue;
    const owner = ownerByKey(call.idempotencyKey);
    let id: unknown;
    try {
      id = (JSON.parse(call.answer ?? '') as { id?: unknown }).id;
    } catch {
      // no id to learn
    }
    if (owner && typeof id === 'string') intentOwner.set(id, owner);
  }

  for (const call of calls) {
    const byKey = ownerByKey(call.idempotencyKey);
    const intentPath = INTENT_PATH.exec(call.path);
    const intent = intentPath?.[1] ?? (call.path === '/v1/refunds' ? call.params.payment_intent : undefined);
    const byIntent = intent === undefined ? undefined : intentOwner.get(intent);
    if (call.method !== 'GET' && call.idempotencyKey === undefined) {
      problems.push(`${describe(call)}: a mutating call without an Idempotency-Key`);
      continue;
    }
    if (intent !== undefined && !byIntent) {
      problems.push(`${describe(call)}: on PaymentIntent ${intent}, which no payment of the run created`);
      continue;
    }
    if (call.method !== 'GET' && !byKey) {
      problems.push(`${describe(call)}: its Idempotency-Key names no payment of the run`);
      continue;
    }
    if (byIntent && byKey && byIntent !== byKey) {
      problems.push(`${describe(call)}: on ${byIntent.tid}'s PaymentIntent under ${byKey.tid}'s key`);
      continue;
    }
    const owner = (byIntent ?? byKey)!;
    const moves = byPayment.get(owner.workflowId)!;
    moves.calls++;
    const key = call.idempotencyKey ?? '';
    const add = (list: string[], amount?: string) => {
      if (!list.includes(key)) list.push(key);
      if (amount !== undefined && Number(amount) !== owner.amount)
        problems.push(`${owner.tid}: ${describe(call)} for ${amount}, the payment is ${owner.amount}`);
    };
    if (!ok(call)) continue;
    if (call.method === 'POST' && call.path === '/v1/payment_intents') add(moves.intents, call.params.amount);
    else if (intentPath?.[2] === 'capture') add(moves.captures, call.params.amount_to_capture);
    else if (intentPath?.[2] === 'cancel') add(moves.cancels);
    else if (call.path === '/v1/refunds') add(moves.refunds, call.params.amount);
  }

  for (const payment of payments) {
    const moves = byPayment.get(payment.workflowId)!;
    const what = `${payment.tid} (${payment.status}${payment.refunded ? ', refunded' : ''})`;
    const captured = payment.status === 'captured';
    const keys = (list: string[]) => `[${list.join(', ')}]`;
    if (moves.captures.length !== (captured ? 1 : 0))
      problems.push(`${what}: ${moves.captures.length} capture key(s) at Stripe ${keys(moves.captures)}`);
    if (moves.refunds.length !== (captured && payment.refunded ? 1 : 0))
      problems.push(`${what}: ${moves.refunds.length} refund key(s) at Stripe ${keys(moves.refunds)}`);
    if (moves.refunds.length > 0 && moves.captures.length === 0)
      problems.push(`${what}: refunded at Stripe without a capture`);
    if (moves.intents.length > 1)
      problems.push(`${what}: ${moves.intents.length} PaymentIntents created ${keys(moves.intents)}`);
    if (moves.intents.length === 0 && (captured || moves.captures.length > 0))
      problems.push(`${what}: no PaymentIntent at Stripe`);
    if (captured && moves.cancels.length > 0) problems.push(`${what}: captured, and cancelled at Stripe`);
  }
  return { byPayment, problems };
}

/**
 * The proxy's recorded traffic as texts for the card-data scan (test/support/card-scan.ts, its one rule): every
 * request (method, path, key, body) and every answer, except the body of `POST /v1/payment_methods`, the one
 * request that must carry the card: the connector hands it to the processor there, as a PaymentMethod, and
 * nowhere else (activities/psp/stripe/transformers.ts, paymentMethodParams). A card number or CVV anywhere else in
 * the traffic (a PaymentIntent's metadata, a description, an idempotency key, a query string, an answer, even the
 * answer to that request) is a finding.
 */
export function processorTrafficToScan(calls: ProcessorCall[]): { where: string; text: string }[] {
  return calls.flatMap((call, index) => {
    const where = `Stripe call #${index} ${call.method} ${call.path}`;
    const cardRequest = call.method === 'POST' && call.path === '/v1/payment_methods';
    // The body's parameters decoded, one per line (every one, repeated keys included), Stripe's brackets written
    // as dots (`metadata[cvc]` → `metadata.cvc=…`): the scan's CVV rule reads keys of word characters and dots.
    const body = cardRequest
      ? ''
      : [...new URLSearchParams(call.rawBody)]
          .map(([key, value]) => `${key.replace(/\[([^\]]*)\]/g, '.$1')}=${value}`)
          .join('\n');
    return [
      {
        where: `${where} (request)`,
        text: `${call.method} ${call.path} Idempotency-Key: ${call.idempotencyKey ?? ''}\n${body}`,
      },
      { where: `${where} (answer)`, text: call.answer ?? '' },
    ];
  });
}

/**
 * The calls whose answer a `lose-stripe-answer` fault cut, and what the connector did next. The proxy applies
 * injected faults to the calls that arrive after them, one each, in order: a drop injected when `calls.length`
 * was L hits call L, or the first call after the one the previous drop hit. After a lost answer the connector
 * cannot know whether Stripe acted, so it must send the same request again under the same Idempotency-Key (the
 * activity retry); a retry under another key is what a double charge looks like (stripeLedger catches it for money
 * movements; this catches it for every call). Reads carry no key and need no retry check.
 */
export function lostStripeAnswers(
  calls: ProcessorCall[],
  injectedAt: number[],
): { lost: ProcessorCall[]; problems: string[] } {
  const lost: ProcessorCall[] = [];
  const problems: string[] = [];
  let previous = -1;
  for (const at of injectedAt) {
    const index = Math.max(at, previous + 1);
    previous = index;
    const call = calls[index];
    if (!call) continue;
    lost.push(call);
    if (call.method === 'GET') continue;
    const retried = calls
      .slice(index + 1)
      .some((c) => c.idempotencyKey === call.idempotencyKey && c.method === call.method && c.path === call.path);
    if (!retried)
      problems.push(
        `${call.method} ${call.path} (key ${call.idempotencyKey ?? 'none'}): its answer was lost, and it was never sent again under the same key`,
      );
  }
  return { lost, problems };
}
