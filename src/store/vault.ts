import type { Db } from 'mongodb';
import { randomBase62 } from '../crypto';
import { type KeyRing, sealedKeyId } from '../keyring';

/**
 * The card vault: PAN and CVV sealed with AES-256-GCM under the key ring's card-vault key (never the key that
 * seals anything else), addressed by a random token.
 * Only the token, the masked PAN and the brand travel in workflow inputs, so card data never reaches Temporal
 * history. The CVV is dropped as soon as authorization is done; the entry is deleted when the payment ends, and a
 * periodic sweep deletes anything past its `expiresAt` (FerretDB has no TTL indexes).
 */
export interface VaultDoc {
  _id: string;
  paymentKey: string;
  sealedPan: string;
  sealedCvv?: string;
  expMonth: number;
  expYear: number;
  createdAt: Date;
  expiresAt: Date;
}

export interface VaultedCard {
  number: string;
  cvv?: string;
  month: number;
  year: number;
}

const vault = (db: Db) => db.collection<VaultDoc>('vault');
const context = (token: string, part: string) => `vault:${token}:${part}`;

export async function vaultCard(
  db: Db,
  keys: KeyRing,
  paymentKey: string,
  card: Required<VaultedCard>,
  ttlMs: number,
): Promise<string> {
  const token = `vt_${randomBase62(24)}`;
  const now = new Date();
  await vault(db).insertOne({
    _id: token,
    paymentKey,
    sealedPan: keys.seal('card-vault', card.number, context(token, 'pan')),
    sealedCvv: keys.seal('card-vault', card.cvv, context(token, 'cvv')),
    expMonth: card.month,
    expYear: card.year,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ttlMs),
  });
  return token;
}

export async function openCard(db: Db, keys: KeyRing, token: string): Promise<VaultedCard | undefined> {
  const doc = await vault(db).findOne({ _id: token });
  if (!doc) return undefined;
  return {
    number: keys.open('card-vault', doc.sealedPan, context(token, 'pan')),
    cvv: doc.sealedCvv === undefined ? undefined : keys.open('card-vault', doc.sealedCvv, context(token, 'cvv')),
    month: doc.expMonth,
    year: doc.expYear,
  };
}

/** PCI-DSS: the CVV may not be kept after authorization, not even encrypted. */
export async function dropCvv(db: Db, token: string): Promise<void> {
  await vault(db).updateOne({ _id: token }, { $unset: { sealedCvv: '' } });
}

export async function deleteCard(db: Db, token: string): Promise<void> {
  await vault(db).deleteOne({ _id: token });
}

/**
 * Card entries not past their expiry (the metrics gauge, docs/metrics.md). A count over a collection that holds
 * only payments still being authorized (each entry goes when its payment's authorization is over), so small.
 */
export function countLiveCards(db: Db, now = new Date()): Promise<number> {
  return vault(db).countDocuments({ expiresAt: { $gt: now } });
}

/** Deletes every entry past its expiry; returns how many. A background sweep, so a scan is acceptable here. */
export async function sweepExpiredCards(db: Db, now = new Date()): Promise<number> {
  const result = await vault(db).deleteMany({ expiresAt: { $lt: now } });
  return result.deletedCount;
}

/**
 * How many card entries still in use (not past their expiry) are sealed under each master key id (`v1`: legacy
 * entries sealed with a raw master). A retired master may be dropped once it has none. Reads only the key id of
 * each entry, never opens one; a scan, acceptable for an operator's command over short-lived entries.
 */
export async function cardEntriesByKeyId(db: Db, now = new Date()): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const doc of vault(db).find({ expiresAt: { $gte: now } }, { projection: { sealedPan: 1 } })) {
    const keyId = sealedKeyId(doc.sealedPan);
    counts[keyId] = (counts[keyId] ?? 0) + 1;
  }
  return counts;
}

/** Entries created before `before`, oldest first: the candidates of the orphan sweep (a scan of a small collection). */
export async function cardsCreatedBefore(
  db: Db,
  before: Date,
  limit: number,
): Promise<{ token: string; paymentKey: string }[]> {
  const docs = await vault(db)
    .find({ createdAt: { $lt: before } }, { projection: { paymentKey: 1 } })
    .limit(limit)
    .toArray();
  return docs.map((d) => ({ token: d._id, paymentKey: d.paymentKey }));
}
