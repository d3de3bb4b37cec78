import { type Db, MongoBulkWriteError } from 'mongodb';
import type { Mode, PaymentStatus } from '../../workflows/vocabulary';
import { DUPLICATE_KEY, isDuplicateKeyError, type PaymentDoc, payments } from './payment-records';

/**
 * The dashboard's payment lists, answered by `_id` ranges only: FerretDB on SQLite indexes nothing but `_id`, so the
 * order and the owner live in the keys of small insert-only listing documents (collection `payment_listing`), two
 * per payment:
 *
 * - `{mode}:{merchantId}:t:{inverted ms, 9 base-36 characters}:{Tid}` — a merchant's payments, newest first in ascending `_id`
 *   order;
 * - `{mode}:{merchantId}:u:{Uid}:{inverted ms}:{Tid}` — the same, for one customer (the Uid search).
 *
 * The Tid and Uid are percent-encoded (encodeKeyPart), so that a `:` in a Uid never makes one Uid's range hold
 * another's, and so that every key is made of characters whose JSON text sorts as they do: FerretDB's SQLite
 * backend compares `_id` as JSON text when it pushes a range and a sort down (tools/ferretdb/patches/0003-…).
 * A list is one `_id` range read in `_id` order with a limit, then the page's payment documents read by `_id`
 * (`$in`): on FerretDB both go through the `_id` index (BENCHMARKS.md, "Dashboard queries", shows the plans), and on
 * MongoDB the `_id` index serves the same range, sort and `$in`, so no other index is needed there either.
 *
 * Listing documents are never updated (a FerretDB update is read-then-write, racing the workflow's own writes):
 * they hold only what never changes (the amount, the creation date). Status and 3-D Secure are read from the
 * payment documents, so a filter on them walks the time range in batches, bounded per request (MAX_EXAMINED), and
 * a short page comes with `next` to continue.
 */
export interface Owner {
  merchantId: string;
  mode: Mode;
}

export interface PaymentFilters {
  statuses?: PaymentStatus[];
  /** createdAt ≥ from */
  from?: Date;
  /** createdAt ≤ to */
  to?: Date;
  minAmount?: number;
  maxAmount?: number;
  threeDS?: boolean;
}

export interface ListingPage {
  payments: PaymentDoc[];
  /** Opaque; null when nothing is left. */
  next: string | null;
}

export interface ListingDoc {
  _id: string;
  paymentKey: string;
  amount: number;
  createdAt: Date;
}

export const paymentListing = (db: Db) => db.collection<ListingDoc>('payment_listing');

/** A cursor that is not one of ours, or not for this owner and list. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/**
 * Listing documents examined at most per request of a filtered list, and per batch. FerretDB reads and decodes
 * about 0.1 ms per small listing document and 0.2 ms per payment document on our 2-core machine (BENCHMARKS.md,
 * "Dashboard queries"): 500 keeps a request that finds few matches near 150 ms, whatever the store size.
 */
export const MAX_EXAMINED = 500;
export const BATCH = 250;
const FIRST_BATCH = 50;

/**
 * How many listing documents to read next: enough for the rest of the page at the match rate seen so far (with a
 * margin), so that a common status needs one small batch and a rare one a few large ones.
 */
function nextBatch(limit: number, found: number, examined: number): number {
  const left = MAX_EXAMINED - examined;
  if (examined === 0) return Math.min(left, Math.max(FIRST_BATCH, limit + 1));
  const wanted = found === 0 ? BATCH : Math.ceil(((limit - found) * examined * 1.25) / found) + 1;
  return Math.min(left, BATCH, Math.max(FIRST_BATCH, wanted));
}

const MAX_MS = 9_999_999_999_999;

const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

/**
 * Percent-encodes every UTF-8 byte but letters, digits and `-_.~`: keys then hold only those, `%` and our `:`
 * separators, all of which JSON writes as themselves and which sort above `"` (see the FerretDB patch 0003).
 * Unlike encodeURIComponent it never throws (a lone surrogate becomes U+FFFD's bytes), so no Uid can make the
 * payment's first step fail; the Uid search compares the Uid itself for that rare collision.
 */
export function encodeKeyPart(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The inverted time in base 36, 9 characters (36^9 > MAX_MS): fixed width, so text order is number order, and
 * never a long digit run. Thirteen decimal digits pass the Luhn check one time in ten and look like a card number
 * to any card-data scanner (docs/fields.md says the same of Tids); a key must not.
 */
function inverted(date: Date): string {
  const ms = Math.min(Math.max(date.getTime(), 0), MAX_MS);
  return (MAX_MS - ms).toString(36).padStart(9, '0');
}

const ownerPrefix = (owner: Owner) => `${owner.mode}:${owner.merchantId}:`;
const timePrefix = (owner: Owner) => `${ownerPrefix(owner)}t:`;
const uidPrefix = (owner: Owner, uid: string) => `${ownerPrefix(owner)}u:${encodeKeyPart(uid)}:`;

/** `;` follows `:`: every key of a prefix ending in `:` sorts below `prefix-minus-colon + ';'`. */
const endOf = (prefix: string) => `${prefix.slice(0, -1)};`;

export function timeKey(payment: Pick<PaymentDoc, 'mode' | 'merchantId' | 'createdAt' | 'tid'>): string {
  return `${timePrefix(payment)}${inverted(payment.createdAt)}:${encodeKeyPart(payment.tid)}`;
}

export function uidKey(payment: Pick<PaymentDoc, 'mode' | 'merchantId' | 'createdAt' | 'tid' | 'uid'>): string {
  return `${uidPrefix(payment, payment.uid)}${inverted(payment.createdAt)}:${encodeKeyPart(payment.tid)}`;
}

export function listingDocs(payment: PaymentDoc): ListingDoc[] {
  const base = { paymentKey: payment._id, amount: payment.amount, createdAt: payment.createdAt };
  const docs = [{ _id: timeKey(payment), ...base }];
  if (payment.uid) docs.push({ _id: uidKey(payment), ...base });
  return docs;
}

/**
 * Lists a payment, once: called by the workflow's first step right after its record is inserted (same activity,
 * so a retry repeats both, and the keys come from the record's own createdAt: the same keys every time).
 */
export async function recordListing(db: Db, payment: PaymentDoc): Promise<void> {
  try {
    // One command for both keys (a store round trip per payment saved: BENCHMARKS.md, "Making it fast"); unordered,
    // so that on a retry a key already there does not keep the other from being inserted.
    await paymentListing(db).insertMany(listingDocs(payment), { ordered: false });
  } catch (err) {
    if (!(err instanceof MongoBulkWriteError) || !onlyDuplicates(err)) throw err;
  }
}

function onlyDuplicates(err: MongoBulkWriteError): boolean {
  const written = err.writeErrors as { code?: number } | { code?: number }[];
  const errors = Array.isArray(written) ? written : [written];
  return errors.length > 0 && errors.every((e) => e.code === DUPLICATE_KEY);
}

/** The marker of a finished backfill (a key outside every `{mode}:` range). */
const BACKFILL_MARKER = 'backfill:v1';

/**
 * Lists the payments made before listing documents existed: a scan of the payments (FerretDB cannot index
 * anything else), so the worker runs it once (docs/runbook.md, "The dashboard's payment lists") and a marker keeps later starts from scanning again.
 * Payments already listed are skipped; the answer is how many were listed now.
 */
export async function backfillListing(db: Db): Promise<number> {
  if (await paymentListing(db).findOne({ _id: BACKFILL_MARKER }, { projection: { _id: 1 } })) return 0;
  let listed = 0;
  let batch: PaymentDoc[] = [];
  const flush = async () => {
    const perPayment = batch.map(listingDocs);
    batch = [];
    const keys = perPayment.flat().map((d) => d._id);
    const existing = new Set(
      (
        await paymentListing(db)
          .find({ _id: { $in: keys } }, { projection: { _id: 1 } })
          .toArray()
      ).map((d) => d._id),
    );
    const missing = perPayment.map((docs) => docs.filter((d) => !existing.has(d._id))).filter((m) => m.length > 0);
    if (missing.length === 0) return;
    try {
      await paymentListing(db).insertMany(missing.flat(), { ordered: false });
    } catch (err) {
      // A payment listed meanwhile by its own workflow: the batch's other inserts still happened.
      if (!(err instanceof MongoBulkWriteError) || !onlyDuplicates(err)) throw err;
    }
    listed += missing.length;
  };
  const cursor = payments(db)
    .find({}, { projection: { _id: 1, mode: 1, merchantId: 1, tid: 1, uid: 1, amount: 1, createdAt: 1 } })
    .batchSize(BATCH);
  for await (const payment of cursor) {
    batch.push(payment);
    if (batch.length >= BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  try {
    await paymentListing(db).insertOne({ _id: BACKFILL_MARKER, paymentKey: '', amount: 0, createdAt: new Date() });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  return listed;
}

interface CursorState {
  /** The last listing key examined: the next request starts after it. */
  after: string;
}

function encodeCursor(after: string): string {
  return Buffer.from(JSON.stringify({ after } satisfies CursorState)).toString('base64url');
}

/** The key to start after, checked to lie inside [start, end) (so a cursor never reaches another owner's keys). */
function decodeCursor(cursor: string | null, start: string, end: string): string | undefined {
  if (cursor === null) return undefined;
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  const after = (state as Partial<CursorState> | null)?.after;
  if (typeof after !== 'string' || after < start || after >= end) throw new InvalidCursorError();
  return after;
}

/** Reads listing documents of [start, end) after `after`, in `_id` order. */
function readRange(db: Db, start: string, end: string, after: string | undefined, limit: number) {
  const lower = after === undefined ? { $gte: start } : { $gt: after };
  return paymentListing(db)
    .find({ _id: { ...lower, $lt: end } })
    .sort({ _id: 1 })
    .limit(limit)
    .toArray();
}

/** The payment documents of some listing documents, in their order (one `$in` read by `_id`). */
async function paymentsOf(db: Db, owner: Owner, listed: ListingDoc[]): Promise<(PaymentDoc | undefined)[]> {
  if (listed.length === 0) return [];
  const keys = [...new Set(listed.map((l) => l.paymentKey))];
  const docs = await payments(db)
    .find({ _id: { $in: keys } })
    .toArray();
  const byKey = new Map(
    docs.filter((d) => d.merchantId === owner.merchantId && d.mode === owner.mode).map((d) => [d._id, d]),
  );
  return listed.map((l) => byKey.get(l.paymentKey));
}

/** One page of a plain (unfiltered but for dates) range: limit + 1 keys tell whether there is more. */
async function simplePage(
  db: Db,
  owner: Owner,
  start: string,
  end: string,
  cursor: string | null,
  limit: number,
): Promise<ListingPage> {
  const listed = await readRange(db, start, end, decodeCursor(cursor, start, end), limit + 1);
  const page = listed.slice(0, limit);
  const docs = await paymentsOf(db, owner, page);
  return {
    payments: docs.filter((d): d is PaymentDoc => d !== undefined),
    next: listed.length > limit ? encodeCursor(page[page.length - 1]!._id) : null,
  };
}

function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new RangeError('limit must be 1 to 100');
}

/**
 * A merchant's payments in one mode, newest first. With status, amount or 3-D Secure filters, it examines at most
 * MAX_EXAMINED listing documents per call: the page may then be short (even empty) with a `next` to continue.
 */
export async function listPayments(
  db: Db,
  owner: Owner,
  filters: PaymentFilters,
  cursor: string | null,
  limit: number,
): Promise<ListingPage> {
  checkLimit(limit);
  const prefix = timePrefix(owner);
  // Newest first: `to` gives the lowest key, `from` the highest (`;` after the inverted ms covers every Tid).
  const start = filters.to ? `${prefix}${inverted(filters.to)}` : prefix;
  const end = filters.from ? `${prefix}${inverted(filters.from)};` : endOf(prefix);
  if (start >= end) return { payments: [], next: null };

  const statuses = filters.statuses?.length ? new Set(filters.statuses) : undefined;
  const needsPayment = statuses !== undefined || filters.threeDS !== undefined;
  const byAmount = filters.minAmount !== undefined || filters.maxAmount !== undefined;
  if (!needsPayment && !byAmount) return simplePage(db, owner, start, end, cursor, limit);

  const amountOk = (l: ListingDoc) =>
    (filters.minAmount === undefined || l.amount >= filters.minAmount) &&
    (filters.maxAmount === undefined || l.amount <= filters.maxAmount);
  const paymentOk = (p: PaymentDoc) =>
    (statuses === undefined || statuses.has(p.status)) &&
    (filters.threeDS === undefined || p.threeDS === filters.threeDS);

  const found: PaymentDoc[] = [];
  let after = decodeCursor(cursor, start, end);
  let examined = 0;
  while (examined < MAX_EXAMINED) {
    const want = nextBatch(limit, found.length, examined);
    const listed = await readRange(db, start, end, after, want);
    const candidates = listed.filter(amountOk);
    const docs = await paymentsOf(db, owner, candidates);
    const docOf = new Map(candidates.map((l, i) => [l, docs[i]]));
    for (const [i, l] of listed.entries()) {
      examined++;
      after = l._id;
      const doc = docOf.get(l);
      if (!doc || !paymentOk(doc)) continue;
      found.push(doc);
      if (found.length < limit) continue;
      const more =
        i < listed.length - 1 || (listed.length === want && (await readRange(db, start, end, after, 1)).length > 0);
      return { payments: found, next: more ? encodeCursor(after) : null };
    }
    // The range is exhausted.
    if (listed.length < want) return { payments: found, next: null };
  }
  // The bound on documents examined: a (possibly short) page and where to go on.
  return { payments: found, next: after === undefined ? null : encodeCursor(after) };
}

/** The payments of one customer (Uid) of a merchant in one mode, newest first. */
export async function paymentsOfUid(
  db: Db,
  owner: Owner,
  uid: string,
  cursor: string | null,
  limit: number,
): Promise<ListingPage> {
  checkLimit(limit);
  const prefix = uidPrefix(owner, uid);
  const page = await simplePage(db, owner, prefix, endOf(prefix), cursor, limit);
  return { ...page, payments: page.payments.filter((p) => p.uid === uid) };
}
