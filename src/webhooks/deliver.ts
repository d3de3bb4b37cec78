import type { Db } from 'mongodb';
import { SpanStatusCode } from '@opentelemetry/api';
import { fetch } from 'undici';
import { inSpan, SpanKind } from '../tracing/spans';
import { activeWebhookSecrets } from '../auth/accounts';
import type { Config } from '../config';
import { randomBase62 } from '../crypto';
import { findMerchant, type MerchantDoc } from '../store/merchants';
import {
  clearRetrying,
  markRetrying,
  type WebhookEventDoc,
  webhookAttempts,
  webhookEvents,
} from '../store/webhook-attempts';
import type { DeliveryOutcome, Mode } from '../../workflows/vocabulary';
import { signatureHeader } from './sign';
import {
  RefusedTarget,
  type Resolver,
  readPrefix,
  refusalBeforeConnect,
  systemResolver,
  webhookDispatcher,
} from './transport';

export type { Resolver } from './transport';

/**
 * Sending one webhook event, signed, to where the target rules allow (docs/webhooks.md): the workflow's delivery
 * activity, the admin command's resend and the dashboard's Resend and test event all go through here.
 */
export interface WebhookDeps {
  db: Db;
  config: Pick<Config, 'vaultKeys' | 'webhook'>;
  resolve?: Resolver;
}

const RESPONSE_PREFIX_BYTES = 256;

/**
 * Public addresses only, in every mode; the operator may open loopback and private addresses to sandbox
 * deliveries (WEBHOOK_ALLOW_PRIVATE_TARGETS, docs/webhooks.md), never to live ones.
 */
function targetRules(config: WebhookDeps['config'], mode: Mode) {
  return { httpsOnly: mode === 'live', publicOnly: mode === 'live' || config.webhook.allowPrivateTargets !== true };
}

interface Sent {
  outcome: DeliveryOutcome;
  responsePrefix?: string;
}

/**
 * One signed POST of `body` to `target` under the target rules of `mode`, signed with the merchant's secrets active
 * now. Never throws for anything the receiver or the network does: that is the outcome.
 */
async function sendSigned(
  deps: WebhookDeps,
  merchant: MerchantDoc | null,
  mode: Mode,
  target: string,
  message: { event: string; deliveryId: string; body: string },
): Promise<Sent> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { outcome: { delivered: false, error: 'refused: not a URL', permanent: true } };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return { outcome: { delivered: false, error: 'refused: webhooks go to http(s) URLs only', permanent: true } };
  const rules = targetRules(deps.config, mode);
  const refused = merchant ? refusalBeforeConnect(url, rules) : 'merchant no longer exists';
  if (refused || !merchant) return { outcome: { delivered: false, error: refused, permanent: true } };
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
          message.body,
          activeWebhookSecrets(deps.config.vaultKeys, merchant),
          Math.floor(Date.now() / 1000),
        ),
        'X-SettleFlow-Event': message.event,
        'X-SettleFlow-Delivery': message.deliveryId,
      },
      body: message.body,
    });
    // Only a short prefix is read, then the connection dropped: a receiver's answer is never trusted, and never
    // allowed to be large (an endpoint streaming without end would otherwise grow the worker without bound).
    const responsePrefix = (await readPrefix(response.body, RESPONSE_PREFIX_BYTES)).toString('utf8');
    return {
      outcome: {
        delivered: response.status >= 200 && response.status < 300,
        httpStatus: response.status,
        permanent: false,
      },
      responsePrefix,
    };
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return {
      outcome: {
        delivered: false,
        error: cause instanceof Error ? cause.message : String(cause),
        permanent: cause instanceof RefusedTarget,
      },
    };
  } finally {
    // Destroy, not close: close would wait for a body nobody reads any more.
    await dispatcher.destroy();
  }
}

/**
 * The dashboard's "send a test event" (docs/webhooks.md, "Test events"): a `TEST` event to any URL the merchant
 * names, signed like every webhook and held to the same target rules as the mode's deliveries. Not filed under any
 * payment, not retried, nothing kept but the answer.
 */
export async function sendTestEvent(
  deps: WebhookDeps,
  merchant: MerchantDoc,
  mode: Mode,
  target: string,
): Promise<{ delivered: boolean; httpStatus?: number; durationMs: number; error?: string; deliveryId: string }> {
  const started = Date.now();
  const deliveryId = `evt_test_${randomBase62(20)}`;
  const body = JSON.stringify({ Code: 0, Event: 'TEST', Mode: mode, Date: new Date(started).toISOString() });
  const { outcome } = await sendSigned(deps, merchant, mode, target, { event: 'TEST', deliveryId, body });
  return {
    delivered: outcome.delivered,
    ...(outcome.httpStatus === undefined ? {} : { httpStatus: outcome.httpStatus }),
    ...(outcome.error === undefined ? {} : { error: outcome.error }),
    durationMs: Date.now() - started,
    deliveryId,
  };
}

/**
 * Sends one event once and records the attempt. Used by the workflow's delivery loop, the admin command's resend
 * and the dashboard's Resend, so all sign, send and log the same way. The signature is computed now, with the
 * secrets active now.
 */
export async function deliverEvent(
  deps: WebhookDeps,
  event: WebhookEventDoc,
  attempt: number,
  nextRetryInMs: number | null,
): Promise<DeliveryOutcome> {
  const started = Date.now();
  const merchant = await findMerchant(deps.db, event.merchantId);
  // A client span per attempt (docs/tracing.md): the event, the attempt and what came of it; not the URL, which
  // is the merchant's to fill (a token in its query would otherwise land in the trace backend).
  const { outcome, responsePrefix } = await inSpan(
    'webhook deliver',
    {
      kind: SpanKind.CLIENT,
      attributes: { 'settleflow.webhook.event': event.event, 'settleflow.webhook.attempt': attempt },
    },
    async (span) => {
      const sent = await sendSigned(deps, merchant, event.mode, event.url, {
        event: event.event,
        deliveryId: event._id,
        body: event.body,
      });
      span.setAttribute('settleflow.webhook.delivered', sent.outcome.delivered);
      if (sent.outcome.httpStatus !== undefined)
        span.setAttribute('http.response.status_code', sent.outcome.httpStatus);
      if (!sent.outcome.delivered) span.setStatus({ code: SpanStatusCode.ERROR });
      return sent;
    },
  );

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
  // The retry backlog (docs/metrics.md): a first attempt that went through had nothing filed there to clear.
  if (nextRetryAt !== null) await markRetrying(deps.db, event._id, event.createdAt, nextRetryAt);
  else if (attempt > 1) await clearRetrying(deps.db, event._id);
  return outcome;
}
