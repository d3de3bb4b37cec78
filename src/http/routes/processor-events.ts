import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Context } from 'koa';
import type { Db } from 'mongodb';
import getRawBody from 'raw-body';
import Stripe from 'stripe';
import { recordProcessorEvent } from '../../store/processor-events';
import { findProcessorReference } from '../../store/processor-references';
import { nudgePayment } from '../../temporal/payment-workflows';
import type { ProcessorAccount } from '../../../workflows/vocabulary';
import type { RequestState } from '../request-id';

export interface ProcessorEventDeps {
  db: Db;
  client: Client;
  /** The signing secrets of a merchant's Stripe webhook endpoint in one mode: the current one, and during a roll the previous. */
  stripeWebhookSecrets(account: ProcessorAccount): Promise<string[]>;
}

/** Stripe's events are a few kilobytes; anything near this is not one of them. */
const EVENT_BODY_LIMIT_BYTES = 256 * 1024;
const INTENT_ID = /^pi_[0-9A-Za-z]{1,250}$/;

/** The PaymentIntent an event is about: the event's object itself, or the one a charge, refund or dispute names. */
function intentOf(event: unknown): string | undefined {
  const object = (event as { data?: { object?: Record<string, unknown> } } | null)?.data?.object;
  if (!object || typeof object !== 'object') return undefined;
  const id = object.object === 'payment_intent' ? object.id : object.payment_intent;
  return typeof id === 'string' && INTENT_ID.test(id) ? id : undefined;
}

function answer(ctx: Context, status: number, body: Record<string, unknown>): void {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

/**
 * `POST /v1/processors/stripe/events`: the endpoint each merchant registers in their Stripe account
 * (docs/connectors.md). An event is trusted only once its signature verifies with the secret of the account that
 * owns the payment it names, so the payment is looked up first (by the processor reference the authorization
 * filed), then the signature is checked with that account's secrets, with the library's own verifier. A verified
 * event is recorded once (a replay changes nothing) and nudges the payment's workflow, which then asks Stripe
 * itself where the payment stands: the event's content decides nothing. Events about no payment of SettleFlow's
 * are acknowledged and ignored, so Stripe does not retry them for days.
 */
export function processorEventRoutes(deps: ProcessorEventDeps): Router<RequestState> {
  const router = new Router<RequestState>();
  router.post('/v1/processors/stripe/events', async (ctx) => {
    let raw: Buffer;
    try {
      raw = await getRawBody(ctx.req, { limit: EVENT_BODY_LIMIT_BYTES });
    } catch {
      return answer(ctx, 400, { error: 'the body could not be read' });
    }
    let unverified: unknown;
    try {
      unverified = JSON.parse(raw.toString('utf8'));
    } catch {
      return answer(ctx, 400, { error: 'the body is not JSON' });
    }
    const pspReference = intentOf(unverified);
    if (!pspReference) return answer(ctx, 200, { received: false, reason: 'not about a payment' });

    try {
      const reference = await findProcessorReference(deps.db, 'stripe', pspReference);
      if (!reference) return answer(ctx, 200, { received: false, reason: 'no such payment' });
      const account = { merchantId: reference.merchantId, mode: reference.mode };
      const event = verified(raw, ctx.get('stripe-signature'), await deps.stripeWebhookSecrets(account));
      if (!event || event.livemode !== (reference.mode === 'live')) {
        ctx.state.log.warn({ merchantId: account.merchantId, mode: account.mode }, 'processor event refused');
        return answer(ctx, 400, { error: 'the signature does not verify' });
      }
      const first = await recordProcessorEvent(deps.db, {
        connector: 'stripe',
        eventId: event.id,
        type: event.type,
        pspReference,
        paymentKey: reference.paymentKey,
        merchantId: reference.merchantId,
        mode: reference.mode,
        receivedAt: new Date(),
      });
      if (!first) return answer(ctx, 200, { received: true, duplicate: true });
      if (event.type.startsWith('charge.dispute.')) {
        ctx.state.log.warn({ eventType: event.type, workflowId: reference.workflowId }, 'dispute at the processor');
      }
      if (event.type.startsWith('payment_intent.')) {
        await nudgePayment(deps.client, reference.workflowId, { eventId: event.id, type: event.type });
      }
      answer(ctx, 200, { received: true });
    } catch (err) {
      // Stripe retries a 5xx with backoff: right while the store or Temporal is down.
      ctx.state.log.error({ err }, 'processor event not processed');
      answer(ctx, 503, { error: 'temporarily unavailable' });
    }
  });
  return router;
}

function verified(raw: Buffer, header: string, secrets: string[]): Stripe.Event | undefined {
  for (const secret of secrets) {
    try {
      return Stripe.webhooks.constructEvent(raw, header, secret);
    } catch {
      // Not this secret (or not signed at all): try the next.
    }
  }
  return undefined;
}
