import { errors } from './errors';
import { INVALID, normalizeFields } from './normalize';

const MINOR_UNITS = /^[0-9]+$/;

/**
 * A refund may carry `Amount`, but V1 refunds only in full (docs/fields.md): when sent, it must be the payment's
 * whole amount in minor units, or the refund is refused with 200 before anything moves. Refunding the whole amount
 * when the merchant asked for part of it would move money nobody meant to move.
 */
export function checkRefundAmount(body: Record<string, unknown>, paymentAmount: number): void {
  const { Amount: amount } = normalizeFields(body, ['Amount']);
  if (amount === undefined) return;
  if (amount === INVALID || !MINOR_UNITS.test(amount) || Number(amount) !== paymentAmount)
    throw errors.partialRefund(paymentAmount);
}
