import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import { success } from '../../epro/envelope';
import { paymentResult, refundResult } from '../../epro/result';
import type { EproState } from '../epro-middleware';
import { findTransaction } from './lookup';

/**
 * `POST /v1/status/direct`: the latest operation of a transaction, read from its projection by `_id` — no scan,
 * no Temporal round trip. After a successful refund the latest operation is the refund (docs/fields.md, status answers).
 */
export function statusHandler(db: Db): Middleware<EproState> {
  return async (ctx) => {
    const payment = await findTransaction(db, ctx.state.principal, ctx.state.body);
    ctx.body = success(
      payment.refund
        ? refundResult(payment, payment.refund)
        : paymentResult(
            payment,
            { status: payment.status, message: payment.message, date: payment.updatedAt },
            // While a challenge is outstanding, an integration that lost the payment answer can still redirect.
            payment.status === 'pending' && payment.threeDSUrl ? { used: true, url: payment.threeDSUrl } : undefined,
          ),
    );
  };
}
