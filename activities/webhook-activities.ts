import { type DeliverWebhookInput, type DeliveryOutcome, type Mode } from '../workflows/vocabulary';
import type { Db } from 'mongodb';
import { fetch } from 'undici';
import { activeWebhookSecrets } from '../src/auth/accounts';
import type { Config } from '../src/config';
import { paymentResult, refundResult } from '../src/epro/result';
import { findMerchant } from '../src/store/merchants';
import { fileDelivery, type WebhookEventDoc, webhookAttempts, webhookEvents } from '../src/store/webhook-attempts';
import { signatureHeader } from '../src/webhooks/sign';
import {
  RefusedTarget,
  type Resolver,
  readPrefix,
  refusalBeforeConnect,
  systemResolver,
  webhookDispatcher,
} from './webhook-transport';

export type { Resolver } from './webhook-transport';

export interface WebhookDeps {
  db: Db;
  config: Pick<Config, 'vaultKeys' | 'webhook'>;
  resolve?: Resolver;
}

const RESPONSE_PREFIX_BYTES = 256;

function webhookBody(input: DeliverWebhookInput): string {
  const { payload } = input;
  const result =
    payload.operation === 'payment'
      ? paymentResult(input.payment, { status: payload.status, message: payload.message, date: new Date(payload.date) })
      : refundResult(input.payment, {
          reference: payload.reference,
          status: payload.status,
          message: payload.message,
          date: new Date(payload.date),
        });
  return JSON.stringify({ Code: 0, Result: result });
}

/**
 * Public addresses only, in every mode; the operator may open loopback and private addresses to sandbox
 * deliveries (WEBHOOK_ALLOW_PRIVATE_TARGETS, docs/webhooks.md), never to live ones.
 */
function targetRules(config: WebhookDeps['config'], mode: Mode) {
  return { httpsOnly: mode === 'live', publicOnly: mode === 'live' || config.webhook.allowPrivateTargets !== true };
}

/**
 * Sends one event once and records the attempt. Used by the workflow's delivery loop and by the admin command's
 * resend, so both sign, send and log the same way. The signature is computed now, with the secrets active now.
 */
export async function deliverEvent(
  deps: WebhookDeps,
  event: WebhookEventDoc,
  attempt: number,
  nextRetryInMs: number | null,
): Promise<DeliveryOutcome> {
  const started = Date.now();
  let outcome: DeliveryOutcome;
  let responsePrefix: string | undefined;
  const merchant = await findMerchant(deps.db, event.merchantId);
  const url = new URL(event.url);
  const rules = targetRules(deps.config, event.mode);
  const refused = merchant ? refusalBeforeConnect(url, rules) : 'merchant no longer exists';
  if (refused || !merchant) {
    outcome = { delivered: false, error: refused, permanent: true };
  } else {
    const timeoutMs = deps.config.webhook.attemptTimeoutMs;
    const dispatcher = webhookDispatcher({
      publicOnly: rules.publicOnly,
      resolve: deps.resolve ?? systemResolver,
      timeoutMs,
    });
    try {
      const response = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        dispatcher,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'SettleFlow-Webhooks/1',
          'X-SettleFlow-Signature': signatureHeader(
            event.body,
            activeWebhookSecrets(deps.config.vaultKeys, merchant),
            Math.floor(Date.now() / 1000),
          ),
          'X-SettleFlow-Event': event.event,
          'X-SettleFlow-Delivery': event._id,
        },
        body: event.body,
      });
      // Only a short prefix is read, then the connection dropped: a receiver's answer is never trusted, and never
      // allowed to be large (an endpoint streaming without end would otherwise grow the worker without bound).
      responsePrefix = (await readPrefix(response.body, RESPONSE_PREFIX_BYTES)).toString('utf8');
      outcome = {
        delivered: response.status >= 200 && response.status < 300,
        httpStatus: response.status,
        permanent: false,
      };
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      outcome = {
        delivered: false,
        error: cause instanceof Error ? cause.message : String(cause),
        permanent: cause instanceof RefusedTarget,
      };
    } finally {
      // Destroy, not close: close would wait for a body nobody reads any more.
      await dispatcher.destroy();
    }
  }

  const nextRetryAt =
    outcome.delivered || outcome.permanent || nextRetryInMs === null ? null : new Date(Date.now() + nextRetryInMs);
  await webhookAttempts(deps.db).replaceOne(
    { _id: `${event._id}:${attempt}` },
    {
      deliveryId: event._id,
      paymentKey: event.paymentKey,
      event: event.event,
      attempt,
      url: event.url,
      at: new Date(started),
      durationMs: Date.now() - started,
      httpStatus: outcome.httpStatus,
      error: outcome.error,
      responsePrefix,
      delivered: outcome.delivered,
      nextRetryAt,
    },
    { upsert: true },
  );
  await webhookEvents(deps.db).updateOne(
    { _id: event._id },
    {
      $max: { attempts: attempt },
      $set: {
        lastHttpStatus: outcome.httpStatus,
        lastError: outcome.error,
        nextRetryAt,
        ...(outcome.delivered ? { delivered: true, deliveredAt: new Date() } : {}),
      },
    },
  );
  return outcome;
}

export function createWebhookActivities(deps: WebhookDeps) {
  return {
    /** One attempt of one event: the workflow owns the schedule (exponential backoff with jitter, per-mode bound). */
    async deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryOutcome> {
      const event: WebhookEventDoc = {
        _id: input.deliveryId,
        paymentKey: input.paymentKey,
        merchantId: input.merchantId,
        mode: input.mode,
        event: input.event,
        url: input.url,
        body: webhookBody(input),
        createdAt: new Date(),
        attempts: 0,
        delivered: false,
      };
      // The first attempt files the event under its payment; later ones (and resends) reuse what was filed.
      const filed = await webhookEvents(deps.db).findOneAndUpdate(
        { _id: event._id },
        { $setOnInsert: event },
        { upsert: true, returnDocument: 'after' },
      );
      await fileDelivery(deps.db, input.paymentKey, input.deliveryId);
      return deliverEvent(deps, filed ?? event, input.attempt, input.nextRetryInMs);
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
