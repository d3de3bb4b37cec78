import type { Db } from 'mongodb';

/** Every webhook delivery attempt: when, how long, and what the receiver answered (or why it could not). */
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
}

export const webhookAttempts = (db: Db) => db.collection<WebhookAttemptDoc>('webhook_attempts');
