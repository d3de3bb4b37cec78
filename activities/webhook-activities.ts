import { type DeliverWebhookInput, type DeliveryOutcome } from '../workflows/vocabulary';
import { paymentResult, refundResult } from '../src/epro/result';
import { fileDelivery, type WebhookEventDoc, webhookEvents } from '../src/store/webhook-attempts';
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
