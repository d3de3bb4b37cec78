import type { Db, Filter } from 'mongodb';
import type { Mode, PaymentStatus } from '../../workflows/vocabulary';
import { type PaymentDoc, payments } from './payment-records';

/**
 * Stand-in for the payment listing (ISSUE 16's contract: the `_id`-keyed listing documents replace it). It keeps the
 * exact interface the dashboard calls, answered here by a filtered find on `payments` (a scan on FerretDB): the
 * dashboard routes must never reach past this interface, so the real listing drops in unchanged.
 */
export interface Owner {
  merchantId: string;
  mode: Mode;
}
export interface PaymentFilters {
  statuses?: PaymentStatus[];
  from?: Date;
  to?: Date;
  minAmount?: number;
  maxAmount?: number;
  threeDS?: boolean;
}
export interface ListingPage {
  payments: PaymentDoc[];
  next: string | null;
}

/** A cursor that is not one of ours, or not for this owner and list. */
export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/** The cursor is the page's offset, opaque to callers (base64url). */
function offsetOf(cursor: string | null): number {
  if (cursor === null) return 0;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const value = Number(text);
  if (!/^[0-9]{1,9}$/.test(text) || !Number.isSafeInteger(value)) throw new InvalidCursorError();
  return value;
}

async function page(db: Db, filter: Filter<PaymentDoc>, cursor: string | null, limit: number): Promise<ListingPage> {
  const offset = offsetOf(cursor);
  const found = await payments(db)
    .find(filter)
    .sort({ createdAt: -1, _id: 1 })
    .skip(offset)
    .limit(limit + 1)
    .toArray();
  const more = found.length > limit;
  return {
    payments: found.slice(0, limit),
    next: more ? Buffer.from(String(offset + limit), 'utf8').toString('base64url') : null,
  };
}

export function listPayments(
  db: Db,
  owner: Owner,
  filters: PaymentFilters,
  cursor: string | null,
  limit: number,
): Promise<ListingPage> {
  const filter: Filter<PaymentDoc> = { merchantId: owner.merchantId, mode: owner.mode };
  if (filters.statuses?.length) filter.status = { $in: filters.statuses };
  if (filters.from || filters.to)
    filter.createdAt = { ...(filters.from ? { $gte: filters.from } : {}), ...(filters.to ? { $lte: filters.to } : {}) };
  if (filters.minAmount !== undefined || filters.maxAmount !== undefined)
    filter.amount = {
      ...(filters.minAmount !== undefined ? { $gte: filters.minAmount } : {}),
      ...(filters.maxAmount !== undefined ? { $lte: filters.maxAmount } : {}),
    };
  if (filters.threeDS !== undefined) filter.threeDS = filters.threeDS;
  return page(db, filter, cursor, limit);
}

export function paymentsOfUid(
  db: Db,
  owner: Owner,
  uid: string,
  cursor: string | null,
  limit: number,
): Promise<ListingPage> {
  return page(db, { merchantId: owner.merchantId, mode: owner.mode, uid }, cursor, limit);
}

/** Nothing to write in the stand-in: the payment document is the listing. */
export async function recordListing(_db: Db, _payment: PaymentDoc): Promise<void> {}

export function backfillListing(_db: Db): Promise<number> {
  return Promise.resolve(0);
}
