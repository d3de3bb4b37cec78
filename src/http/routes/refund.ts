import type { Client } from '@temporalio/client';
import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import { refundPayment } from '../../commands/refund-payment';
import { success } from '../../epro/envelope';
import { checkRefundAmount } from '../../epro/refund-request';
import { refundResult } from '../../epro/result';
import type { EproState } from '../epro-middleware';
import { findTransaction } from './lookup';

/**
 * `POST /v1/refund/direct`: a full refund, once, of a captured payment (src/commands/refund-payment.ts, shared with
 * the dashboard). An `Amount`, if sent, must be the whole amount (200 otherwise, checked between the lookup's 102
 * and the command's 103 refusals); the answer carries the refund's outcome.
 */
export function refundHandler(db: Db, client: Client, budgetMs: number): Middleware<EproState> {
  return async (ctx) => {
    const payment = await findTransaction(db, ctx.state.principal, ctx.state.body);
    checkRefundAmount(ctx.state.body, payment.amount);
    ctx.body = success(refundResult(payment, await refundPayment(client, payment, budgetMs)));
  };
}
