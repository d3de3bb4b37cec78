import type { Db } from 'mongodb';
import type { Mode } from '../auth/key-format';
import type { CustomerDetails, PaymentInput, PaymentStatus, RefundStatus } from '../../workflows/messages';

/**
 * One document per payment, keyed by `{mode}:{merchantId}:{Tid}`. It is first the Tid reservation (its `_id`
 * insert is what makes a Tid single-use per merchant and mode, across API processes), then the projection that
 * answers status queries, written only by the payment's workflow through sequence-guarded updates.
 */
export interface PaymentDoc {
  _id: string;
  mode: Mode;
  merchantId: string;
  tid: string;
  reference: string;
  uid: string;
  amount: number;
  currency: string;
  maskedPan: string;
  brand: string;
  /** The customer and order details the merchant sent, never card data (absent on payments made before it). */
  customer?: CustomerDetails;
  workflowId: string;
  /** `reserved` until the API knows the workflow started; a retry with the same request resumes a reservation. */
  lifecycle: 'reserved' | 'started';
  /** Set when the request that made the reservation ended without knowing whether its workflow started. */
  attemptOverAt?: Date;
  /** Keyed digest of the request, so only an identical retry may resume a reservation. Reveals nothing. */
  requestDigest: string;
  /** The workflow input (no card data), so a reservation whose start was lost can be started later. */
  input: PaymentInput;
  status: PaymentStatus;
  message: string;
  threeDS: boolean;
  threeDSUrl?: string;
  /** Where the cardholder's browser goes back after a 3-D Secure challenge (merchant-supplied, never card data). */
  returnUrl?: string;
  refund?: { reference: string; status: RefundStatus; message: string; date: Date };
  /** Delivery ids of this payment's webhook events, in order (the admin command's way into the delivery log). */
  webhookDeliveries?: string[];
  /** Last applied projection sequence number: an older or repeated write never moves the state back. */
  seq: number;
  createdAt: Date;
  /** When the latest operation happened (the Date of status answers). */
  updatedAt: Date;
}

export const payments = (db: Db) => db.collection<PaymentDoc>('payments');

export function paymentKey(mode: Mode, merchantId: string, tid: string): string {
  return `${mode}:${merchantId}:${tid}`;
}

export const DUPLICATE_KEY = 11000;

export function isDuplicateKeyError(err: unknown): boolean {
  return (err as { code?: number }).code === DUPLICATE_KEY;
}

/**
 * Reservations whose workflow is not known to have started, one small `_id`-keyed document each, so the sweep
 * that settles stranded ones reads this short list instead of scanning every payment (FerretDB cannot index it).
 */
export interface PendingStartDoc {
  _id: string;
  workflowId: string;
  vaultToken: string;
  reference: string;
  /**
   * When the latest attempt to start it began: the reservation's creation, then each retry that resumed it. The
   * sweep counts its grace from here, so it never settles a reservation while a retry's start is in flight.
   */
  attemptAt: Date;
}

export const pendingStarts = (db: Db) => db.collection<PendingStartDoc>('pending_starts');

/** Inserts the reservation; false when the Tid is taken (whatever became of it). */
export async function reserveTid(db: Db, doc: PaymentDoc): Promise<boolean> {
  try {
    await payments(db).insertOne(doc);
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
  await pendingStarts(db).replaceOne(
    { _id: doc._id },
    { workflowId: doc.workflowId, vaultToken: doc.input.vaultToken, reference: doc.reference, attemptAt: doc.createdAt },
    { upsert: true },
  );
  return true;
}

export function findPayment(db: Db, key: string): Promise<PaymentDoc | null> {
  return payments(db).findOne({ _id: key });
}

/**
 * The workflow is known to exist. Returns false when the reservation was gone: something released it while the
 * start was in flight, and the caller must put it back, or the workflow's projection writes would land nowhere.
 */
export async function markStarted(db: Db, key: string): Promise<boolean> {
  // `_id` alone, no `lifecycle: 'reserved'` condition: setting `started` on a started payment changes nothing.
  const result = await payments(db).updateOne({ _id: key }, { $set: { lifecycle: 'started' } });
  await pendingStarts(db).deleteOne({ _id: key });
  return result.matchedCount === 1;
}

/** Puts back a payment whose reservation was released although its workflow started (see markStarted). */
export async function restoreStarted(db: Db, doc: PaymentDoc): Promise<void> {
  try {
    await payments(db).insertOne({ ...doc, lifecycle: 'started' });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

/** The request behind a reservation is over: an identical retry may resume it at once. */
export async function markAttemptOver(db: Db, key: string): Promise<void> {
  await payments(db).updateOne({ _id: key, lifecycle: 'reserved' }, { $set: { attemptOverAt: new Date() } });
}

/**
 * A retry resuming a reservation brings the card again: the reservation's input now points at that vault entry,
 * and its attempt time restarts the sweep's grace. False when the reservation is gone or started meanwhile: then
 * there is nothing to resume. The payment document changes first: a sweep that read the old entry then releases
 * nothing, because its vault token no longer matches.
 */
export async function resumeReservation(db: Db, key: string, vaultToken: string, now = new Date()): Promise<boolean> {
  const result = await payments(db).updateOne({ _id: key, lifecycle: 'reserved' }, { $set: { 'input.vaultToken': vaultToken }, $unset: { attemptOverAt: '' } });
  await pendingStarts(db).updateOne({ _id: key }, { $set: { vaultToken, attemptAt: now } });
  return result.modifiedCount === 1;
}

/**
 * Frees a Tid whose workflow provably never started, so the merchant's retry can use it. `vaultToken` guards
 * against a retry that resumed the reservation meanwhile (it swaps in its own card): then nothing is released.
 */
export async function releaseReservation(db: Db, reservation: { key: string; reference: string; vaultToken: string }): Promise<boolean> {
  const result = await payments(db).deleteOne({ _id: reservation.key, lifecycle: 'reserved', 'input.vaultToken': reservation.vaultToken });
  await pendingStarts(db).deleteOne({ _id: reservation.key, vaultToken: reservation.vaultToken });
  if (result.deletedCount === 1) await db.collection('references').deleteOne({ _id: reservation.reference as never });
  return result.deletedCount === 1;
}

export type ProjectionPatch = Partial<Pick<PaymentDoc, 'status' | 'message' | 'threeDS' | 'threeDSUrl' | 'refund' | 'updatedAt'>>;

/**
 * Applies a projection write from the workflow. The `seq` guard makes it idempotent and ordered: a retried
 * activity, or a late write overtaken by a newer one, matches nothing and changes nothing.
 */
export async function applyProjection(db: Db, key: string, seq: number, patch: ProjectionPatch): Promise<boolean> {
  const result = await payments(db).updateOne({ _id: key, seq: { $lt: seq } }, { $set: { ...patch, seq, lifecycle: 'started' } });
  return result.modifiedCount === 1;
}
