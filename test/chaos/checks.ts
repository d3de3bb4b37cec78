import type { Fault } from './plan';

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
  /** The scenario whose start fired it. */
  at: number;
  /** Milliseconds since the run started: when the fault hit, and when the system was whole again. */
  hitAt: number;
  endedAt: number;
  /** Merchant and customer requests in flight at the instant the fault hit, by endpoint. */
  inFlight: Record<string, number>;
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
