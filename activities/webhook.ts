import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Db } from 'mongodb';
import { activeWebhookSecrets } from '../src/auth/accounts';
import type { Config } from '../src/config';
import { type PaymentFacts, paymentResult, refundResult } from '../src/epro/result';
import { findMerchant } from '../src/store/merchants';
import { webhookAttempts } from '../src/store/webhook-attempts';
import { signatureHeader } from '../src/webhooks/sign';
import type { PaymentStatus, RefundStatus, WebhookEvent } from '../workflows/messages';

export interface WebhookDeps {
  db: Db;
  config: Pick<Config, 'vaultKey' | 'webhook'>;
}

export interface DeliverWebhookInput {
  deliveryId: string;
  paymentKey: string;
  merchantId: string;
  url: string;
  event: WebhookEvent;
  payment: PaymentFacts;
  /** The state the event reports; dates as ISO strings (Temporal payloads are JSON). */
  payload:
    | { operation: 'payment'; status: PaymentStatus; message: string; date: string }
    | { operation: 'refund'; status: RefundStatus; message: string; date: string; reference: string };
}

function webhookResult(input: DeliverWebhookInput) {
  const { payload } = input;
  return payload.operation === 'payment'
    ? paymentResult(input.payment, { status: payload.status, message: payload.message, date: new Date(payload.date) })
    : refundResult(input.payment, { reference: payload.reference, status: payload.status, message: payload.message, date: new Date(payload.date) });
}

const RESPONSE_PREFIX_BYTES = 256;

/**
 * One delivery attempt of one event. Any 2xx within the attempt timeout is delivered; anything else throws,
 * and Temporal retries with backoff until the mode's retry bound. The signature is computed at each attempt
 * with the secrets active then, so a rotation during a long retry period is honoured.
 */
export function createWebhookActivities(deps: WebhookDeps) {
  return {
    async deliverWebhook(input: DeliverWebhookInput): Promise<{ httpStatus: number }> {
      const merchant = await findMerchant(deps.db, input.merchantId);
      if (!merchant) throw ApplicationFailure.nonRetryable(`merchant ${input.merchantId} no longer exists`, 'MerchantGone');
      const body = JSON.stringify({ Code: 0, Result: webhookResult(input) });
      const timestamp = Math.floor(Date.now() / 1000);
      const attempt = Context.current().info.attempt;
      const started = Date.now();
      let httpStatus: number | undefined;
      let error: string | undefined;
      let responsePrefix: string | undefined;
      try {
        const response = await fetch(input.url, {
          method: 'POST',
          redirect: 'manual',
          signal: AbortSignal.timeout(deps.config.webhook.attemptTimeoutMs),
          headers: {
            'Content-Type': 'application/json',
            'User-Agent': 'SettleFlow-Webhooks/1',
            'X-SettleFlow-Signature': signatureHeader(body, activeWebhookSecrets(deps.config.vaultKey, merchant), timestamp),
            'X-SettleFlow-Event': input.event,
            'X-SettleFlow-Delivery': input.deliveryId,
          },
          body,
        });
        httpStatus = response.status;
        responsePrefix = (await response.text().catch(() => '')).slice(0, RESPONSE_PREFIX_BYTES);
      } catch (err) {
        error = err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
      }
      const delivered = httpStatus !== undefined && httpStatus >= 200 && httpStatus < 300;
      await webhookAttempts(deps.db).replaceOne(
        { _id: `${input.deliveryId}:${attempt}` },
        {
          deliveryId: input.deliveryId,
          paymentKey: input.paymentKey,
          event: input.event,
          attempt,
          url: input.url,
          at: new Date(started),
          durationMs: Date.now() - started,
          httpStatus,
          error,
          responsePrefix,
          delivered,
        },
        { upsert: true },
      );
      if (!delivered) throw new Error(error ? `webhook not delivered: ${error}` : `webhook not delivered: HTTP ${httpStatus}`);
      return { httpStatus: httpStatus! };
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
