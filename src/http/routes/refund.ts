import type { Client } from '@temporalio/client';
import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import { randomBase62 } from '../../crypto';
import { success } from '../../epro/envelope';
import { errors } from '../../epro/errors';
import { checkRefundAmount } from '../../epro/refund-request';
import { refundResult } from '../../epro/result';
import { requestRefund } from '../../temporal/payment-workflows';
import type { EproState } from '../epro-middleware';
import { findTransaction } from './lookup';

const REFUSALS = {
  not_captured: 'payment is not captured',
  already_refunded: 'payment already refunded',
  refund_window_closed: 'refund window has ended',
} as const;

/**
 * `POST /v1/refund/direct`: a full refund, once, of a captured payment. An `Amount`, if sent, must be the whole
 * amount (200 otherwise, checked between the lookup's 102 and the 103 refusals). The projection answers the obvious
 * refusals at once; the payment's workflow decides everything else, so concurrent refunds give exactly one
 * success, and the answer carries the refund's outcome.
 */
export function refundHandler(db: Db, client: Client, budgetMs: number): Middleware<EproState> {
  return async (ctx) => {
    const payment = await findTransaction(db, ctx.state.principal, ctx.state.body);
    checkRefundAmount(ctx.state.body, payment.amount);
    if (payment.refund?.status === 'captured') throw errors.invalidTransaction(REFUSALS.already_refunded);
    if (payment.status !== 'captured') throw errors.invalidTransaction(REFUSALS.not_captured);

    const answer = await requestRefund(client, payment.workflowId, `ref_${randomBase62(24)}`, budgetMs);
    if (!answer.ok) throw errors.invalidTransaction(REFUSALS[answer.reason]);
    ctx.body = success(refundResult(payment, { ...answer, date: new Date(answer.date) }));
  };
}
