import type { Db } from 'mongodb';
import { containsCardNumber } from '../../epro/card-like';
import type { Owner } from '../../store/payment-listing';
import { findPayment, type PaymentDoc } from '../../store/payment-records';
import { paymentKey } from '../../../workflows/vocabulary';
import { refuse } from './errors';

/** A payment as the dashboard lists it (issue 16's `PaymentSummary`): masked card only, dates as ISO strings. */
export function paymentSummary(p: PaymentDoc) {
  return {
    tid: p.tid,
    reference: p.reference,
    uid: p.uid,
    amount: p.amount,
    currency: p.currency,
    status: p.status,
    message: p.message,
    maskedPan: p.maskedPan,
    brand: p.brand,
    threeDS: p.threeDS,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
    ...(p.refund
      ? { refund: { reference: p.refund.reference, status: p.refund.status, date: p.refund.date.toISOString() } }
      : {}),
  };
}

export type PaymentSummary = ReturnType<typeof paymentSummary>;

/**
 * The payment a path names, for the session's merchant and mode only: one `_id` read on the key built from the
 * owner, so another merchant's or mode's Tid is simply not there (404). A Tid that looks like a card number is
 * never sent to the database (its logs could keep it; docs/fields.md).
 */
export async function findOwnedPayment(db: Db, owner: Owner, tid: string): Promise<PaymentDoc> {
  if (tid === '' || tid.length > 64 || containsCardNumber(tid)) throw refuse.notFound();
  const payment = await findPayment(db, paymentKey(owner.mode, owner.merchantId, tid));
  if (!payment || payment.merchantId !== owner.merchantId || payment.mode !== owner.mode) throw refuse.notFound();
  return payment;
}
