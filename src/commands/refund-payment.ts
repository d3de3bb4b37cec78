import type { Client } from '@temporalio/client';
import { randomBase62 } from '../crypto';
import { errors } from '../epro/errors';
import type { PaymentDoc } from '../store/payment-records';
import { requestRefund } from '../temporal/payment-workflows';
import type { RefundStatus } from '../../workflows/vocabulary';

const REFUSALS = {
  not_captured: 'payment is not captured',
  already_refunded: 'payment already refunded',
  refund_window_closed: 'refund window has ended',
} as const;

export interface RefundDone {
  reference: string;
  status: RefundStatus;
  message: string;
  date: Date;
}

/**
 * A full refund, once, of a captured payment: the one path of `POST /v1/refund/direct` and the dashboard's Refund
 * button, so both refuse the same things with the same E-PRO error (103) and answer the same refund. The
 * projection answers the obvious refusals at once; the payment's workflow decides everything else, so concurrent
 * refunds give exactly one success. The payment must already be the caller's (merchant and mode checked).
 */
export async function refundPayment(client: Client, payment: PaymentDoc, budgetMs: number): Promise<RefundDone> {
  if (payment.refund?.status === 'captured') throw errors.invalidTransaction(REFUSALS.already_refunded);
  if (payment.status !== 'captured') throw errors.invalidTransaction(REFUSALS.not_captured);
  const answer = await requestRefund(client, payment.workflowId, `ref_${randomBase62(24)}`, budgetMs);
  if (!answer.ok) throw errors.invalidTransaction(REFUSALS[answer.reason]);
  return { reference: answer.reference, status: answer.status, message: answer.message, date: new Date(answer.date) };
}
