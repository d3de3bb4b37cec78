import type { Db } from 'mongodb';
import type { Mode } from '../../workflows/vocabulary';
import { isDuplicateKeyError } from './payment-records';

export interface ApiKeyDoc {
  /** The key id embedded in the key itself. */
  _id: string;
  merchantId: string;
  mode: Mode;
  /** Argon2id hash of the whole key. */
  hash: string;
  createdAt: Date;
  /** End of the grace period after a rotation; null while the key is current. */
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export const apiKeys = (db: Db) => db.collection<ApiKeyDoc>('api_keys');

/**
 * A merchant's keys of one mode, found by one `_id` range: `{mode}:{merchantId}:{keyId}`, one insert-only document
 * per key. FerretDB on SQLite indexes only `_id`, so a `find({merchantId, mode})` on `api_keys` would read every
 * merchant's keys; the range and the `$in` read after it go through the `_id` index (docs/dashboard-api.md), and
 * on MongoDB the `_id` index serves them the same way.
 */
export interface MerchantKeyDoc {
  _id: string;
  keyId: string;
}

export const merchantKeys = (db: Db) => db.collection<MerchantKeyDoc>('merchant_api_keys');

/** Key ids and merchant ids are base62 (src/auth/key-format.ts, src/auth/accounts.ts): `;` sorts after `:`. */
function ownerRange(merchantId: string, mode: Mode) {
  return { $gte: `${mode}:${merchantId}:`, $lt: `${mode}:${merchantId};` };
}

/** Files a key under its merchant and mode; filing it again changes nothing. */
export async function fileApiKey(db: Db, key: Pick<ApiKeyDoc, '_id' | 'merchantId' | 'mode'>): Promise<void> {
  try {
    await merchantKeys(db).insertOne({ _id: `${key.mode}:${key.merchantId}:${key._id}`, keyId: key._id });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
}

export async function keyIdsOf(db: Db, merchantId: string, mode: Mode, limit = 0): Promise<string[]> {
  const filed = await merchantKeys(db)
    .find({ _id: ownerRange(merchantId, mode) })
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
  return filed.map((doc) => doc.keyId);
}

/** The merchant's keys of a mode, newest first, without their hashes. */
export async function keysOf(db: Db, merchantId: string, mode: Mode): Promise<Omit<ApiKeyDoc, 'hash'>[]> {
  const ids = await keyIdsOf(db, merchantId, mode);
  if (ids.length === 0) return [];
  const keys = await apiKeys(db)
    .find({ _id: { $in: ids } }, { projection: { hash: 0 } })
    .toArray();
  // The owner is checked again on the key itself: the index only ever narrows the read.
  return keys
    .filter((k) => k.merchantId === merchantId && k.mode === mode)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

export async function hasKeys(db: Db, merchantId: string, mode: Mode): Promise<boolean> {
  return (await keyIdsOf(db, merchantId, mode, 1)).length > 0;
}

const KEY_INDEX_MARKER = 'backfill:v1';

/**
 * Files the keys issued before the index existed: a scan of `api_keys` (a few documents per merchant), run once by
 * the worker; a marker (outside every `{mode}:` range) keeps later starts from scanning again.
 */
export async function backfillKeyIndex(db: Db): Promise<number> {
  if (await merchantKeys(db).findOne({ _id: KEY_INDEX_MARKER })) return 0;
  let filed = 0;
  for await (const key of apiKeys(db).find({}, { projection: { _id: 1, merchantId: 1, mode: 1 } })) {
    await fileApiKey(db, key);
    filed++;
  }
  try {
    await merchantKeys(db).insertOne({ _id: KEY_INDEX_MARKER, keyId: '' });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  return filed;
}
