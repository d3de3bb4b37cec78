import type { Db } from 'mongodb';
import type { Mode } from '../../workflows/vocabulary';
import { isDuplicateKeyError } from './payment-records';

/**
 * The processor's reference of an authorization (Stripe's PaymentIntent id), pointing at the payment it belongs
 * to, keyed `{connector}:{reference}`: what routes a processor's event (a refund, a dispute, a late 3-D Secure
 * outcome) to its payment with one `_id` read. Written once, by the authorize activity, for connectors that send
 * events; never card data.
 */
export interface ProcessorReferenceDoc {
  _id: string;
  connector: string;
  pspReference: string;
  paymentKey: string;
  workflowId: string;
  merchantId: string;
  mode: Mode;
  createdAt: Date;
}

export const processorReferences = (db: Db) => db.collection<ProcessorReferenceDoc>('processor_references');

export const processorReferenceId = (connector: string, pspReference: string): string => `${connector}:${pspReference}`;

/** Idempotent: a retried authorization writes the same reference again, which the `_id` refuses harmlessly. */
export async function recordProcessorReference(db: Db, doc: Omit<ProcessorReferenceDoc, '_id'>): Promise<void> {
  try {
    await processorReferences(db).insertOne({ _id: processorReferenceId(doc.connector, doc.pspReference), ...doc });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

export function findProcessorReference(
  db: Db,
  connector: string,
  pspReference: string,
): Promise<ProcessorReferenceDoc | null> {
  return processorReferences(db).findOne({ _id: processorReferenceId(connector, pspReference) });
}
