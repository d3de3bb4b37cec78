import type Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { refundPayment } from '../../commands/refund-payment';
import type { Config } from '../../config';
import { EproError } from '../../epro/errors';
import type { PaymentDoc } from '../../store/payment-records';
import {
  deliveryIdsOf,
  deliveryLog,
  type WebhookAttemptDoc,
  webhookAttempts,
  webhookEvents,
} from '../../store/webhook-attempts';
import { paymentHistory, type PaymentHistory } from '../../temporal/payment-timeline';
import { deliverEvent } from '../../webhooks/deliver';
import { DashboardError, refuse } from './errors';
import { readJsonObject } from './json';
import { findOwnedPayment, paymentSummary } from './payment-views';
import { type DashboardState, requireAdmin, requireCsrf } from './session';

export interface TimelineEntry {
  event: string;
  at: string;
  detail?: string;
}

const FINAL_EVENTS: Partial<Record<PaymentDoc['status'], string>> = {
  authorized: 'authorized',
  captured: 'captured',
  failed: 'failed',
  rejected_pw: 'failed',
  cancelled: 'cancelled',
};

/**
 * What happened to a payment, oldest first. The durable facts come from its record (accepted, its latest status,
 * the refund's outcome), so they outlive Temporal's retention; the finer steps (3-D Secure asked and answered,
 * authorized, captured, the refund asked) come from the workflow's history while Temporal has it.
 */
export function timelineOf(payment: PaymentDoc, history: PaymentHistory | undefined): TimelineEntry[] {
  const entries: TimelineEntry[] = [{ event: 'accepted', at: payment.createdAt.toISOString() }];
  const failedDetail = (event: string) =>
    event === 'failed' || event === 'cancelled' ? { detail: payment.message } : {};
  if (history) {
    for (const step of history.steps)
      entries.push({
        event: step.event,
        at: step.at.toISOString(),
        ...(step.detail ? { detail: step.detail } : failedDetail(step.event)),
      });
  } else {
    if (payment.threeDS) entries.push({ event: '3ds_requested', at: payment.createdAt.toISOString() });
    const final = FINAL_EVENTS[payment.status];
    if (final) entries.push({ event: final, at: payment.updatedAt.toISOString(), ...failedDetail(final) });
  }
  if (payment.refund) {
    entries.push({
      event: payment.refund.status === 'captured' ? 'refunded' : 'refund_failed',
      at: payment.refund.date.toISOString(),
      detail: payment.refund.message,
    });
  }
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}

async function webhooksOf(db: Db, payment: PaymentDoc) {
  const log = await deliveryLog(db, await deliveryIdsOf(db, payment));
  return log.map((e) => ({
    deliveryId: e._id,
    event: e.event,
    url: e.url,
    delivered: e.delivered,
    ...(e.deliveredAt ? { deliveredAt: e.deliveredAt.toISOString() } : {}),
    attempts: e.attemptLog.map(attemptView),
  }));
}

/** What the dashboard shows of one delivery attempt (never the receiver's answer). */
function attemptView(a: WebhookAttemptDoc) {
  return {
    attempt: a.attempt,
    at: a.at.toISOString(),
    durationMs: a.durationMs,
    ...(a.httpStatus === undefined || a.httpStatus === null ? {} : { httpStatus: a.httpStatus }),
    ...(a.error ? { error: a.error } : {}),
  };
}

/** Kept on the record since the authorization; from the history for payments authorized before that. */
function processorReferenceOf(payment: PaymentDoc, history: PaymentHistory | undefined) {
  const reference = payment.processorReference ?? history?.processorReference;
  return reference ? { processorReference: reference } : {};
}

export function paymentDetailRoutes(
  router: Router<DashboardState>,
  deps: { db: Db; client: Client; config: Config },
): void {
  const { db, client, config } = deps;

  router.get('/payments/:tid', async (ctx) => {
    const payment = await findOwnedPayment(db, ctx.state.owner, ctx.params.tid!);
    const [history, webhooks] = await Promise.all([
      paymentHistory(client, payment.workflowId),
      webhooksOf(db, payment),
    ]);
    ctx.body = {
      ...paymentSummary(payment),
      ...(payment.customer ? { customer: payment.customer } : {}),
      ...processorReferenceOf(payment, history),
      timeline: timelineOf(payment, history),
      webhooks,
      refundable: payment.status === 'captured' && payment.refund?.status !== 'captured',
    };
  });

  // The same command as `POST /v1/refund/direct`: the same refusals (E-PRO 103, given as eproCode) and answer.
  router.post('/payments/:tid/refund', requireCsrf, requireAdmin, async (ctx) => {
    await readJsonObject(ctx);
    const payment = await findOwnedPayment(db, ctx.state.owner, ctx.params.tid!);
    try {
      const refund = await refundPayment(client, payment, config.apiWaitBudgetMs);
      ctx.body = { refund: { ...refund, date: refund.date.toISOString() } };
    } catch (err) {
      if (err instanceof EproError && err.code === 103)
        throw new DashboardError(409, 'refund_refused', err.message, { eproCode: err.code });
      throw err;
    }
  });

  // What `settleflow webhooks resend` does: the event again, same delivery id, one more attempt on its log.
  router.post('/payments/:tid/webhooks/:deliveryId/resend', requireCsrf, requireAdmin, async (ctx) => {
    await readJsonObject(ctx);
    const payment = await findOwnedPayment(db, ctx.state.owner, ctx.params.tid!);
    const deliveryId = ctx.params.deliveryId!;
    // The event names its payment: one of another payment (or merchant, or mode) is not found.
    const event = await webhookEvents(db).findOne({ _id: deliveryId });
    if (!event || event.paymentKey !== payment._id) throw refuse.notFound();
    const attempt = event.attempts + 1;
    await deliverEvent({ db, config }, event, attempt, null);
    const logged = await webhookAttempts(db).findOne({ _id: `${deliveryId}:${attempt}` });
    if (!logged) throw new Error(`attempt ${attempt} of ${deliveryId} was not logged`);
    ctx.body = { attempt: attemptView(logged) };
  });
}
