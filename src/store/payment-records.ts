import type { Db } from 'mongodb';
import type { PaymentInput, PaymentStatus, RefundStatus } from '../../workflows/vocabulary';

/**
 * One document per payment, keyed by `{mode}:{merchantId}:{Tid}`: the projection that answers status queries,
 * and, once Temporal has forgotten the payment's workflow, what keeps its Tid used for good. Only the payment's
 * workflow writes it: it inserts it as its first step, then moves it through sequence-guarded updates, one
 * after another. Nothing else writes here (FerretDB applies an update as read-then-write: a second writer could
 * undo the first). It keeps these facts of the workflow's input as they were (their meaning: PaymentInput in
 * workflows/vocabulary.ts; `customer` is absent on payments made before it was kept).
 */
export interface PaymentDoc extends Pick<
  PaymentInput,
  | 'mode'
  | 'merchantId'
  | 'tid'
  | 'reference'
  | 'uid'
  | 'amount'
  | 'currency'
  | 'maskedPan'
  | 'brand'
  | 'customer'
  | 'returnUrl'
  | 'callbackUrl'
> {
  _id: string;
  workflowId: string;
  /** The processor connector of the payment (absent on payments recorded before it was kept): a metrics label. */
  connector?: string;
  /** The vault entry this payment's workflow uses (an opaque token, not card data): any other entry for the same
   * key is a copy left by a duplicate or failed request, which the worker's sweep deletes. */
  vaultToken?: string;
  status: PaymentStatus;
  message: string;
  threeDS: boolean;
  threeDSUrl?: string;
  /** The processor's own challenge page, when the processor hosts the 3-D Secure challenge. */
  challengeRedirectUrl?: string;
  /** The processor's reference of the authorization (absent on payments authorized before it was kept). */
  processorReference?: string;
  refund?: { reference: string; status: RefundStatus; message: string; date: Date };
  /** Delivery ids of webhook events, kept here by earlier versions (now in `payment_webhooks`, deliveryIdsOf). */
  webhookDeliveries?: string[];
  /** Last applied projection sequence number: an older or repeated write never moves the state back. */
  seq: number;
  /** The workflow history length that decided the last write (ProjectionInput.historyLength): breaks a `seq` tie. */
  seqHistoryLength?: number;
  createdAt: Date;
  /** When the latest operation happened (the Date of status answers). */
  updatedAt: Date;
}

export const payments = (db: Db) => db.collection<PaymentDoc>('payments');

export const DUPLICATE_KEY = 11000;

export function isDuplicateKeyError(err: unknown): boolean {
  return (err as { code?: number }).code === DUPLICATE_KEY;
}

/**
 * Writes a payment's record, once: the workflow's first step. A retry of that step (a worker that died after the
 * write) finds the record there, which is the same outcome.
 */
export async function insertPayment(db: Db, doc: PaymentDoc): Promise<boolean> {
  try {
    await payments(db).insertOne(doc);
    return true;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    return false;
  }
}

export function findPayment(db: Db, key: string): Promise<PaymentDoc | null> {
  return payments(db).findOne({ _id: key });
}

export type ProjectionPatch = Partial<
  Pick<
    PaymentDoc,
    | 'status'
    | 'message'
    | 'threeDS'
    | 'threeDSUrl'
    | 'challengeRedirectUrl'
    | 'processorReference'
    | 'refund'
    | 'updatedAt'
  >
>;

/** What a projection write replaced: the facts the worker's metrics compare the write with (docs/metrics.md). */
export type PriorState = Pick<
  PaymentDoc,
  'mode' | 'merchantId' | 'connector' | 'status' | 'threeDSUrl' | 'refund' | 'createdAt'
>;

/**
 * Applies a projection write from the workflow. The `seq` guard makes it idempotent and ordered: a retried
 * activity, or a late write overtaken by a newer one, matches nothing and changes nothing. Resolves with the
 * record as it was before this write, or null when the write changed nothing: so a fact (a payment reaching a
 * final status) is seen once, by the write that made it true, however often the activity ran.
 *
 * Two writes of one `seq` are two executions of one workflow task, the first of which never completed (its local
 * activities had run; its decisions were lost with it) and may have decided otherwise (a 3-D Secure answer against
 * its timeout, say). The one decided on the longer history is the retry's, the one the workflow's history keeps:
 * it replaces the other, and the other can never replace it (docs/architecture.md, "The projection: who wins a write").
 */
export async function applyProjectionFrom(
  db: Db,
  key: string,
  seq: number,
  patch: ProjectionPatch,
  historyLength?: number,
): Promise<PriorState | null> {
  const guard =
    historyLength === undefined
      ? { seq: { $lt: seq } }
      : { $or: [{ seq: { $lt: seq } }, { seq, seqHistoryLength: { $lt: historyLength } }] };
  return payments(db).findOneAndUpdate(
    { _id: key, ...guard },
    { $set: { ...patch, seq, ...(historyLength === undefined ? {} : { seqHistoryLength: historyLength }) } },
    // No projection: FerretDB's findAndModify takes none (the record holds no card data, and is one document).
    { returnDocument: 'before' },
  );
}

/** applyProjectionFrom, answering only whether the write changed the record. */
export async function applyProjection(db: Db, key: string, seq: number, patch: ProjectionPatch): Promise<boolean> {
  return (await applyProjectionFrom(db, key, seq, patch)) !== null;
}

/**
 * Removes what the start protocol of earlier versions left on payment records: above all the request digest, a
 * keyed digest of the whole request, card number and CVV included, which those versions kept for good (and the
 * reservation fields that went with it). Run once by each worker (docs/runbook.md); a scan, which FerretDB cannot
 * index, so never on a request path.
 */
export async function dropLegacyStartFields(db: Db): Promise<number> {
  const result = await payments(db).updateMany(
    { $or: [{ requestDigest: { $exists: true } }, { input: { $exists: true } }] },
    { $unset: { requestDigest: '', input: '', lifecycle: '', attemptOverAt: '' } },
  );
  return result.modifiedCount;
}
