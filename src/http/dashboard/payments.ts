import type Router from '@koa/router';
import type { ParsedUrlQuery } from 'node:querystring';
import type { Db } from 'mongodb';
import { containsCardNumber } from '../../epro/card-like';
import {
  InvalidCursorError,
  listPayments,
  type ListingPage,
  type Owner,
  type PaymentFilters,
  paymentsOfUid,
} from '../../store/payment-listing';
import { findPayment, type PaymentDoc } from '../../store/payment-records';
import { findReference } from '../../store/references';
import { type PaymentStatus, paymentKey } from '../../../workflows/vocabulary';
import { refuse } from './errors';
import { paymentSummary } from './payment-views';
import type { DashboardState } from './session';

const STATUSES: readonly PaymentStatus[] = ['pending', 'authorized', 'captured', 'failed', 'cancelled', 'rejected_pw'];
const MINOR_UNITS = /^[0-9]{1,15}$/;
/**
 * A CSV export walks the listing page by page, up to this many rows or this many pages, whichever comes first: the
 * bound on one export's work (a rare filter makes short pages, each still a bounded read of the listing). Past it,
 * `X-Next-Cursor` says where the next export starts.
 */
export const CSV_MAX_ROWS = 10_000;
export const CSV_MAX_PAGES = 40;

export interface PaymentQuery {
  filters: PaymentFilters;
  q?: string;
  cursor: string | null;
  limit: number;
}

function single(query: ParsedUrlQuery, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw refuse.invalid(`${name} is given more than once`);
  return value === undefined || value === '' ? undefined : value;
}

function date(query: ParsedUrlQuery, name: string): Date | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  const parsed = raw.length <= 40 ? new Date(raw) : new Date(NaN);
  if (Number.isNaN(parsed.getTime())) throw refuse.invalid(`${name} must be an ISO 8601 date`);
  return parsed;
}

function amount(query: ParsedUrlQuery, name: string): number | undefined {
  const raw = single(query, name);
  if (raw === undefined) return undefined;
  if (!MINOR_UNITS.test(raw)) throw refuse.invalid(`${name} must be a whole number of minor units`);
  return Number(raw);
}

/** The list's query string (docs/dashboard-api.md, "API"), checked field by field: anything else is a 400. */
export function parsePaymentQuery(query: ParsedUrlQuery): PaymentQuery {
  const rawStatuses = query.status === undefined ? [] : ([] as string[]).concat(query.status);
  for (const s of rawStatuses)
    if (!(STATUSES as readonly string[]).includes(s))
      throw refuse.invalid(`status must be one of ${STATUSES.join(', ')}`);
  const threeDS = single(query, 'threeDS');
  if (threeDS !== undefined && threeDS !== 'yes' && threeDS !== 'no') throw refuse.invalid('threeDS must be yes or no');
  const rawLimit = single(query, 'limit');
  if (rawLimit !== undefined && (!/^[0-9]{1,3}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 100))
    throw refuse.invalid('limit must be from 1 to 100');
  const cursor = single(query, 'cursor') ?? null;
  if (cursor !== null && (cursor.length > 2048 || !/^[A-Za-z0-9_\-:.~%]+$/.test(cursor)))
    throw refuse.invalid('cursor is not one this API gave');
  const q = single(query, 'q')?.trim();
  if (q !== undefined && q.length > 128) throw refuse.invalid('q is at most 128 characters');
  const filters: PaymentFilters = {
    ...(rawStatuses.length ? { statuses: [...new Set(rawStatuses)] as PaymentStatus[] } : {}),
    from: date(query, 'from'),
    to: date(query, 'to'),
    minAmount: amount(query, 'minAmount'),
    maxAmount: amount(query, 'maxAmount'),
    ...(threeDS === undefined ? {} : { threeDS: threeDS === 'yes' }),
  };
  for (const key of Object.keys(filters) as (keyof PaymentFilters)[])
    if (filters[key] === undefined) delete filters[key];
  return { filters, ...(q ? { q } : {}), cursor, limit: rawLimit === undefined ? 25 : Number(rawLimit) };
}

/** Whether a payment found by search passes the list's filters (the listing applies them itself otherwise). */
function passes(p: PaymentDoc, f: PaymentFilters): boolean {
  return (
    (!f.statuses || f.statuses.includes(p.status)) &&
    (!f.from || p.createdAt >= f.from) &&
    (!f.to || p.createdAt <= f.to) &&
    (f.minAmount === undefined || p.amount >= f.minAmount) &&
    (f.maxAmount === undefined || p.amount <= f.maxAmount) &&
    (f.threeDS === undefined || p.threeDS === f.threeDS)
  );
}

/**
 * One page of the list, or of a search: `q` is tried as a Tid and as a `pr_…`/`ref_…` Reference (one `_id` read
 * each, first page only) and as a Uid (the listing's Uid range, paged). Every read is built from `owner`.
 */
export async function paymentPage(db: Db, owner: Owner, query: PaymentQuery): Promise<ListingPage> {
  try {
    return await searchOrList(db, owner, query);
  } catch (err) {
    if (err instanceof InvalidCursorError) throw refuse.invalid('cursor is not one this API gave for this list');
    throw err;
  }
}

async function searchOrList(db: Db, owner: Owner, query: PaymentQuery): Promise<ListingPage> {
  if (query.q === undefined) return listPayments(db, owner, query.filters, query.cursor, query.limit);
  const q = query.q;
  // A card number typed in the search box is never sent to the database (docs/fields.md).
  if (containsCardNumber(q)) return { payments: [], next: null };
  const exact: PaymentDoc[] = [];
  if (query.cursor === null) {
    if (q.length <= 64) {
      const byTid = await findPayment(db, paymentKey(owner.mode, owner.merchantId, q));
      if (byTid) exact.push(byTid);
    }
    if (/^(pr|ref)_/.test(q)) {
      const ref = await findReference(db, q, owner);
      const byRef = ref ? await findPayment(db, ref.paymentKey) : null;
      if (byRef && !exact.some((p) => p._id === byRef._id)) exact.push(byRef);
    }
  }
  const byUid = await paymentsOfUid(db, owner, q, query.cursor, query.limit);
  const seen = new Set(exact.map((p) => p._id));
  const all = [...exact, ...byUid.payments.filter((p) => !seen.has(p._id))].filter(
    (p) => p.merchantId === owner.merchantId && p.mode === owner.mode && passes(p, query.filters),
  );
  return { payments: all, next: byUid.next };
}

/** One CSV field: quoted, and a leading formula character neutralised so a spreadsheet never runs it. */
function csvField(value: string | number | boolean | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return `"${text.replace(/"/g, '""')}"`;
}

const CSV_COLUMNS = [
  'createdAt',
  'tid',
  'reference',
  'uid',
  'amount',
  'currency',
  'status',
  'message',
  'maskedPan',
  'brand',
  'threeDS',
  'updatedAt',
  'refundReference',
  'refundStatus',
  'refundDate',
] as const;

function csvRow(p: PaymentDoc): string {
  const s = paymentSummary(p);
  const row: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | undefined> = {
    ...s,
    refundReference: s.refund?.reference,
    refundStatus: s.refund?.status,
    refundDate: s.refund?.date,
  };
  return CSV_COLUMNS.map((c) => csvField(row[c])).join(',');
}

export function paymentRoutes(router: Router<DashboardState>, db: Db): void {
  router.get('/payments', async (ctx) => {
    const page = await paymentPage(db, ctx.state.owner, parsePaymentQuery(ctx.query));
    ctx.body = { payments: page.payments.map(paymentSummary), next: page.next };
  });

  router.get('/payments.csv', async (ctx) => {
    const query = parsePaymentQuery(ctx.query);
    const lines = [CSV_COLUMNS.join(',')];
    let cursor = query.cursor;
    let rows = 0;
    let pages = 0;
    do {
      const page = await paymentPage(db, ctx.state.owner, { ...query, cursor, limit: 100 });
      for (const p of page.payments) lines.push(csvRow(p));
      rows += page.payments.length;
      pages++;
      cursor = page.next;
    } while (cursor !== null && rows + 100 <= CSV_MAX_ROWS && pages < CSV_MAX_PAGES);
    ctx.type = 'text/csv; charset=utf-8';
    ctx.attachment(`payments-${ctx.state.owner.mode}-${new Date().toISOString().slice(0, 10)}.csv`);
    // When the bound cut the export short, the header says where to continue.
    if (cursor !== null) ctx.set('X-Next-Cursor', cursor);
    ctx.body = `${lines.join('\r\n')}\r\n`;
  });
}
