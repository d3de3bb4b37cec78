import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import ipaddr from 'ipaddr.js';
import type { Db } from 'mongodb';
import { Agent, fetch } from 'undici';
import { activeWebhookSecrets } from '../src/auth/accounts';
import type { Config } from '../src/config';
import { isNonPublicAddress } from '../src/epro/url-rules';
import { type PaymentFacts, paymentResult, refundResult } from '../src/epro/result';
import { findMerchant } from '../src/store/merchants';
import { payments } from '../src/store/payments';
import { type WebhookEventDoc, webhookAttempts, webhookEvents } from '../src/store/webhook-attempts';
import { signatureHeader } from '../src/webhooks/sign';
import type { Mode, PaymentStatus, RefundStatus, WebhookEvent } from '../workflows/messages';

/** Resolves a host name to all its addresses (injectable, so tests can make a name point anywhere). */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))));

export interface WebhookDeps {
  db: Db;
  config: Pick<Config, 'vaultKeys' | 'webhook'>;
  resolve?: Resolver;
}

export interface DeliverWebhookInput {
  deliveryId: string;
  paymentKey: string;
  merchantId: string;
  mode: Mode;
  url: string;
  event: WebhookEvent;
  payment: PaymentFacts;
  /** The state the event reports; dates as ISO strings (Temporal payloads are JSON). */
  payload:
    | { operation: 'payment'; status: PaymentStatus; message: string; date: string }
    | { operation: 'refund'; status: RefundStatus; message: string; date: string; reference: string };
  /** 1 for the first try; the workflow counts, so the number survives worker restarts. */
  attempt: number;
  /** When the workflow will try again if this attempt fails (null: this is the last one), for the log. */
  nextRetryInMs: number | null;
}

export interface DeliveryOutcome {
  delivered: boolean;
  httpStatus?: number;
  error?: string;
  /** No retry can help (the target is refused, the merchant is gone): the workflow stops trying. */
  permanent: boolean;
}

const RESPONSE_PREFIX_BYTES = 256;

function webhookBody(input: DeliverWebhookInput): string {
  const { payload } = input;
  const result =
    payload.operation === 'payment'
      ? paymentResult(input.payment, { status: payload.status, message: payload.message, date: new Date(payload.date) })
      : refundResult(input.payment, { reference: payload.reference, status: payload.status, message: payload.message, date: new Date(payload.date) });
  return JSON.stringify({ Code: 0, Result: result });
}

class RefusedTarget extends Error {}

/**
 * Live-mode SSRF guard at delivery time, on the address actually connected to (not the name, which could
 * resolve differently a second later): every address of the name must be public, and the connection uses them.
 */
function publicOnlyAgent(resolve: Resolver, timeoutMs: number): Agent {
  return new Agent({
    connect: {
      timeout: timeoutMs,
      lookup: (hostname, options, callback) => {
        resolve(hostname).then(
          (addresses) => {
            const refused = addresses.find((a) => isNonPublicAddress(a.address));
            if (addresses.length === 0 || refused) {
              callback(new RefusedTarget(`refused: ${hostname} resolves to non-public address ${refused?.address ?? '(none)'}`), '', 4);
            } else if ((options as { all?: boolean }).all) {
              (callback as unknown as (err: null, all: LookupAddress[]) => void)(null, addresses);
            } else {
              callback(null, addresses[0]!.address, addresses[0]!.family);
            }
          },
          (err: Error) => callback(err, '', 4),
        );
      },
    },
  });
}

/** Why a target is refused before any connection, or undefined when it may be tried. */
function refusal(url: URL, mode: Mode): string | undefined {
  if (mode !== 'live') return undefined;
  if (url.protocol !== 'https:') return 'refused: live webhooks go to https URLs only';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(host) && isNonPublicAddress(host)) return `refused: ${host} is not a public address`;
  return undefined;
}

/**
 * Sends one event once and records the attempt. Used by the workflow's delivery loop and by the admin command's
 * resend, so both sign, send and log the same way. The signature is computed now, with the secrets active now.
 */
export async function deliverEvent(deps: WebhookDeps, event: WebhookEventDoc, attempt: number, nextRetryInMs: number | null): Promise<DeliveryOutcome> {
  const started = Date.now();
  let outcome: DeliveryOutcome;
  let responsePrefix: string | undefined;
  const merchant = await findMerchant(deps.db, event.merchantId);
  const url = new URL(event.url);
  const refused = merchant ? refusal(url, event.mode) : 'merchant no longer exists';
  if (refused || !merchant) {
    outcome = { delivered: false, error: refused, permanent: true };
  } else {
    const timeoutMs = deps.config.webhook.attemptTimeoutMs;
    const dispatcher = event.mode === 'live' ? publicOnlyAgent(deps.resolve ?? systemResolver, timeoutMs) : undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        dispatcher,
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'SettleFlow-Webhooks/1',
          'X-SettleFlow-Signature': signatureHeader(event.body, activeWebhookSecrets(deps.config.vaultKeys, merchant), Math.floor(Date.now() / 1000)),
          'X-SettleFlow-Event': event.event,
          'X-SettleFlow-Delivery': event._id,
        },
        body: event.body,
      });
      // Only a short prefix is read: a receiver's answer is never trusted, and never allowed to be large.
      responsePrefix = (await response.text().catch(() => '')).slice(0, RESPONSE_PREFIX_BYTES);
      outcome = { delivered: response.status >= 200 && response.status < 300, httpStatus: response.status, permanent: false };
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      outcome = { delivered: false, error: cause instanceof Error ? cause.message : String(cause), permanent: cause instanceof RefusedTarget };
    } finally {
      await dispatcher?.close();
    }
  }

  const nextRetryAt = outcome.delivered || outcome.permanent || nextRetryInMs === null ? null : new Date(Date.now() + nextRetryInMs);
  await webhookAttempts(deps.db).replaceOne(
    { _id: `${event._id}:${attempt}` },
    {
      deliveryId: event._id, paymentKey: event.paymentKey, event: event.event, attempt, url: event.url, at: new Date(started),
      durationMs: Date.now() - started, httpStatus: outcome.httpStatus, error: outcome.error, responsePrefix,
      delivered: outcome.delivered, nextRetryAt,
    },
    { upsert: true },
  );
  await webhookEvents(deps.db).updateOne(
    { _id: event._id },
    {
      $max: { attempts: attempt },
      $set: { lastHttpStatus: outcome.httpStatus, lastError: outcome.error, nextRetryAt, ...(outcome.delivered ? { delivered: true, deliveredAt: new Date() } : {}) },
    },
  );
  return outcome;
}

export function createWebhookActivities(deps: WebhookDeps) {
  return {
    /** One attempt of one event: the workflow owns the schedule (exponential backoff with jitter, per-mode bound). */
    async deliverWebhook(input: DeliverWebhookInput): Promise<DeliveryOutcome> {
      const event: WebhookEventDoc = {
        _id: input.deliveryId, paymentKey: input.paymentKey, merchantId: input.merchantId, mode: input.mode,
        event: input.event, url: input.url, body: webhookBody(input), createdAt: new Date(), attempts: 0, delivered: false,
      };
      // The first attempt files the event under its payment; later ones (and resends) reuse what was filed.
      const filed = await webhookEvents(deps.db).findOneAndUpdate({ _id: event._id }, { $setOnInsert: event }, { upsert: true, returnDocument: 'after' });
      await payments(deps.db).updateOne({ _id: input.paymentKey }, { $addToSet: { webhookDeliveries: input.deliveryId } });
      return deliverEvent(deps, filed ?? event, input.attempt, input.nextRetryInMs);
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
