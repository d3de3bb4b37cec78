import type { Db } from 'mongodb';
import type { Mode } from '../../workflows/vocabulary';
import { isDuplicateKeyError } from './payment-records';

/**
 * Reference → payment lookups, one `_id`-keyed document per payment Reference (`pr_…`) and refund Reference
 * (`ref_…`), so a status or refund by Reference is two `_id` reads and never a scan. The owner (merchant, mode)
 * is kept to answer "not found" for anyone else's Reference.
 */
export interface ReferenceDoc {
  _id: string;
  kind: 'payment' | 'refund';
  paymentKey: string;
  merchantId: string;
  mode: Mode;
}

export const references = (db: Db) => db.collection<ReferenceDoc>('references');

/** Idempotent: recording the same Reference again is a no-op. */
export async function recordReference(db: Db, doc: ReferenceDoc): Promise<void> {
  try {
    await references(db).insertOne(doc);
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

export async function findReference(
  db: Db,
  reference: string,
  owner: { merchantId: string; mode: Mode },
): Promise<ReferenceDoc | undefined> {
  const doc = await references(db).findOne({ _id: reference });
  return doc && doc.merchantId === owner.merchantId && doc.mode === owner.mode ? doc : undefined;
}
