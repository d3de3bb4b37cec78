import type { Db } from 'mongodb';

/**
 * The webhook delivery log. One event document per delivery id (what was sent, where, and how it is going) and
 * one attempt document per try (`{deliveryId}:{attempt}`), and one list of delivery ids per payment (keyed by the
 * payment's key), so listing a payment's deliveries is a handful of `_id` reads: payment → its delivery ids →
 * events → attempts 1..n. The list is kept apart from the payment's record so that the record has one writer,
 * its workflow: FerretDB applies an update as read-then-write, and two writers on one document can lose one.
 */
export interface WebhookEventDoc {
  _id: string;
  paymentKey: string;
  merchantId: string;
  mode: 'test' | 'live';
  event: string;
  url: string;
  /** The exact JSON body (the E-PRO envelope, never card data), so a resend sends the same bytes' content. */
  body: string;
  createdAt: Date;
  attempts: number;
  delivered: boolean;
  deliveredAt?: Date;
  lastHttpStatus?: number;
  lastError?: string;
  nextRetryAt?: Date | null;
}

export interface WebhookAttemptDoc {
  /** `{deliveryId}:{attempt}`: a retried activity attempt overwrites its own record, never another's. */
  _id: string;
  deliveryId: string;
  paymentKey: string;
  event: string;
  attempt: number;
  url: string;
  at: Date;
  durationMs: number;
  httpStatus?: number;
  error?: string;
  /** First bytes of the receiver's answer, for diagnosis; never trusted, never more than this. */
  responsePrefix?: string;
  delivered: boolean;
  nextRetryAt?: Date | null;
}

export interface PaymentWebhooksDoc {
  /** The payment's key, `{mode}:{merchantId}:{Tid}`. */
  _id: string;
  /** In the order the events were filed (a payment's events go out strictly one after another). */
  deliveryIds: string[];
}

/**
 * The retry backlog: one small document per event that failed and waits for its next attempt, deleted once it is
 * delivered or given up. Kept beside the events so that the metrics' backlog gauges (docs/metrics.md) read a
 * collection as large as the backlog itself, never the whole delivery log (which FerretDB could only scan).
 */
export interface WebhookBacklogDoc {
  /** The delivery id. */
  _id: string;
  /** When the event was filed: the age of the oldest is how late the merchant's view is. */
  createdAt: Date;
  nextRetryAt: Date;
}

export const webhookBacklog = (db: Db) => db.collection<WebhookBacklogDoc>('webhook_backlog');

/** Files an event as waiting for a retry (or moves its next retry). */
export async function markRetrying(db: Db, deliveryId: string, createdAt: Date, nextRetryAt: Date): Promise<void> {
  await webhookBacklog(db).replaceOne({ _id: deliveryId }, { createdAt, nextRetryAt }, { upsert: true });
}

/** The event is no longer waiting: delivered, refused for good, or given up. */
export async function clearRetrying(db: Db, deliveryId: string): Promise<void> {
  await webhookBacklog(db).deleteOne({ _id: deliveryId });
}

/** How many events wait for a retry, and when the oldest of them was filed. */
export async function backlogSummary(db: Db): Promise<{ waiting: number; oldest: Date | null }> {
  const [waiting, oldest] = await Promise.all([
    webhookBacklog(db).countDocuments({}),
    webhookBacklog(db)
      .find({}, { projection: { createdAt: 1 } })
      .sort({ createdAt: 1 })
      .limit(1)
      .next(),
  ]);
  return { waiting, oldest: oldest?.createdAt ?? null };
}

export const webhookEvents = (db: Db) => db.collection<WebhookEventDoc>('webhook_events');
export const webhookAttempts = (db: Db) => db.collection<WebhookAttemptDoc>('webhook_attempts');
export const paymentWebhooks = (db: Db) => db.collection<PaymentWebhooksDoc>('payment_webhooks');

/** Files a delivery id under its payment; filing it again changes nothing. */
export async function fileDelivery(db: Db, paymentKey: string, deliveryId: string): Promise<void> {
  await paymentWebhooks(db).updateOne(
    { _id: paymentKey },
    { $addToSet: { deliveryIds: deliveryId } },
    { upsert: true },
  );
}

/**
 * A payment's delivery ids, oldest first. Payments of earlier versions kept them on their record
 * (`webhookDeliveries`): those come first.
 */
export async function deliveryIdsOf(db: Db, payment: { _id: string; webhookDeliveries?: string[] }): Promise<string[]> {
  const filed = (await paymentWebhooks(db).findOne({ _id: payment._id }))?.deliveryIds ?? [];
  return [...new Set([...(payment.webhookDeliveries ?? []), ...filed])];
}

/** Every event of a payment with its attempts, oldest first, by `_id` reads only. */
export async function deliveryLog(
  db: Db,
  deliveryIds: readonly string[],
): Promise<(WebhookEventDoc & { attemptLog: WebhookAttemptDoc[] })[]> {
  const events = await webhookEvents(db)
    .find({ _id: { $in: [...deliveryIds] } })
    .toArray();
  const byId = new Map(events.map((e) => [e._id, e]));
  const log = [];
  for (const id of deliveryIds) {
    const event = byId.get(id);
    if (!event) continue;
    const attemptIds = Array.from({ length: event.attempts }, (_, i) => `${id}:${i + 1}`);
    const attempts = await webhookAttempts(db)
      .find({ _id: { $in: attemptIds } })
      .toArray();
    log.push({ ...event, attemptLog: attempts.sort((a, b) => a.attempt - b.attempt) });
  }
  return log;
}
