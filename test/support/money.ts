import type { Db } from 'mongodb';
import { type LedgerDoc, simulatorLedger } from '../../activities/psp/simulator';

/**
 * Money moved per payment, read from the simulator's ledger the way an auditor would read a processor's: a payment
 * owns the authorization made under its key (the workflow id), and every capture or refund made ON that
 * authorization (its pspReference) counts, whatever idempotency key it was sent with. Counting entries by key
 * cannot see a second capture under another key; adding up movements per authorization can.
 */
export interface MoneyMoved {
  /** pspReferences of the payment's approved authorizations (one, on a healthy build). */
  authorizations: string[];
  /** Captures and refunds that went through (a `failed` or `voided` entry moves nothing). */
  captures: LedgerDoc[];
  refunds: LedgerDoc[];
}

export interface LedgerByPayment {
  /** Keyed by the authorization's idempotency key, i.e. the payment's workflow id. */
  byPayment: Map<string, MoneyMoved>;
  /** Money moved on an authorization no payment made: always a bug (a stray key, an invented reference). */
  unlinked: LedgerDoc[];
}

export function moneyByPayment(entries: LedgerDoc[]): LedgerByPayment {
  const byPayment = new Map<string, MoneyMoved>();
  const ownerOf = new Map<string, MoneyMoved>();
  for (const entry of entries) {
    if (entry.operation !== 'authorize' || entry.outcome.kind !== 'approved' || !entry.pspReference) continue;
    const moved = byPayment.get(entry.idempotencyKey) ?? { authorizations: [], captures: [], refunds: [] };
    moved.authorizations.push(entry.pspReference);
    byPayment.set(entry.idempotencyKey, moved);
    ownerOf.set(entry.pspReference, moved);
  }
  const unlinked: LedgerDoc[] = [];
  for (const entry of entries) {
    const list =
      entry.operation === 'capture' && entry.outcome.kind === 'captured'
        ? 'captures'
        : entry.operation === 'refund' && entry.outcome.kind === 'refunded'
          ? 'refunds'
          : undefined;
    if (!list) continue;
    const owner = entry.pspReference ? ownerOf.get(entry.pspReference) : undefined;
    if (owner) owner[list].push(entry);
    else unlinked.push(entry);
  }
  return { byPayment, unlinked };
}

const NOTHING: MoneyMoved = { authorizations: [], captures: [], refunds: [] };

/** The money moved for one payment (its workflow id), from the whole ledger. */
export async function moneyMoved(db: Db, workflowId: string): Promise<MoneyMoved> {
  return moneyByPayment(await simulatorLedger(db).find({}).toArray()).byPayment.get(workflowId) ?? NOTHING;
}

/** Amounts only, for readable assertions: `{ captures: [1234], refunds: [] }`. */
export function amountsMoved(moved: MoneyMoved): { captures: number[]; refunds: number[] } {
  return { captures: moved.captures.map((c) => c.amount), refunds: moved.refunds.map((r) => r.amount) };
}

export interface PaymentSays {
  status: string;
  amount: number;
  refund?: { status: string };
}

/**
 * What the payment says against the money moved: captured → its amount captured exactly once; refunded → captured
 * and refunded once each, for its amount; any other final state → nothing captured, nothing refunded. Empty when
 * they agree. Fails on: a capture or refund issued twice under different keys, a capture for a failed payment,
 * a partial or inflated amount, a refund the payment does not show. Shown to fail with a scratch build whose capture
 * activity captures again under `second-<workflow id>`: the API tests using it failed (captures [1234, 1234])
 * where their earlier key-counting versions passed, and the reduced chaos round flagged all 40 captured payments.
 */
export function moneyDisagreements(payment: PaymentSays, moved: MoneyMoved): string[] {
  const problems: string[] = [];
  const sum = (list: LedgerDoc[]) => list.reduce((total, entry) => total + entry.amount, 0);
  const describe = (list: LedgerDoc[]) => list.map((e) => `${e.amount} under ${e.idempotencyKey}`).join(', ');
  const captured = payment.status === 'captured';
  const refunded = payment.refund?.status === 'captured';
  const capturesExpected = captured ? 1 : 0;
  const refundsExpected = captured && refunded ? 1 : 0;
  if (moved.captures.length !== capturesExpected || sum(moved.captures) !== capturesExpected * payment.amount) {
    problems.push(
      `payment ${payment.status} (${payment.amount}) but ${moved.captures.length} capture(s) moved money [${describe(moved.captures)}]`,
    );
  }
  if (moved.refunds.length !== refundsExpected || sum(moved.refunds) !== refundsExpected * payment.amount) {
    problems.push(
      `refund ${payment.refund?.status ?? 'none'} but ${moved.refunds.length} refund(s) moved money [${describe(moved.refunds)}]`,
    );
  }
  return problems;
}
