import { type DeliverWebhookInput, type DeliveryOutcome } from '../workflows/vocabulary';
import { paymentResult, refundResult } from '../src/epro/result';
import { fileDelivery, type WebhookEventDoc, webhookEvents } from '../src/store/webhook-attempts';
import type { AttemptOutcome, WorkerMetrics } from '../src/metrics/worker-metrics';
import { deliverEvent, type WebhookDeps } from '../src/webhooks/deliver';

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

function attemptOutcome(outcome: DeliveryOutcome, nextRetryInMs: number | null): AttemptOutcome {
  if (outcome.delivered) return 'delivered';
  if (outcome.permanent) return 'refused';
  return nextRetryInMs === null ? 'gave_up' : 'retrying';
}

export function createWebhookActivities(deps: WebhookDeps & { metrics?: WorkerMetrics }) {
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
      const started = process.hrtime.bigint();
      const outcome = await deliverEvent(deps, filed ?? event, input.attempt, input.nextRetryInMs);
      deps.metrics?.webhookAttempt(
        filed ?? event,
        attemptOutcome(outcome, input.nextRetryInMs),
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      return outcome;
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
