import type Router from '@koa/router';
import type { Db } from 'mongodb';
import { listPayments, type Owner } from '../../store/payment-listing';
import type { PaymentDoc } from '../../store/payment-records';
import { refuse } from './errors';
import type { DashboardState } from './session';

/**
 * The bound on one overview's work: it reads at most this many payments of the period (100 a page through the
 * listing, newest first) and says `partial: true` when the period holds more, so a busy merchant's overview costs
 * the same as a quiet one's. A larger merchant's exact totals belong in a report, not a page load.
 */
export const OVERVIEW_MAX_PAYMENTS = 5_000;
/** And at most this many pages: a filtered walk (pending challenges) makes short pages, each a bounded listing read. */
export const OVERVIEW_MAX_PAGES = 60;
const PAGE = 100;

const DECLINED = new Set<PaymentDoc['status']>(['failed', 'rejected_pw']);

async function walk(
  db: Db,
  owner: Owner,
  filters: Parameters<typeof listPayments>[2],
  visit: (p: PaymentDoc) => void,
): Promise<boolean> {
  let cursor: string | null = null;
  let read = 0;
  let pages = 0;
  do {
    const page = await listPayments(db, owner, filters, cursor, PAGE);
    for (const p of page.payments) visit(p);
    read += page.payments.length;
    pages++;
    cursor = page.next;
  } while (cursor !== null && read < OVERVIEW_MAX_PAYMENTS && pages < OVERVIEW_MAX_PAGES);
  return cursor !== null;
}

export function overviewRoutes(router: Router<DashboardState>, db: Db): void {
  router.get('/overview', async (ctx) => {
    const rawDays = ctx.query.days;
    if (rawDays !== undefined && (typeof rawDays !== 'string' || !/^[0-9]{1,2}$/.test(rawDays)))
      throw refuse.invalid('days must be from 1 to 90');
    const days = rawDays === undefined ? 14 : Number(rawDays);
    if (days < 1 || days > 90) throw refuse.invalid('days must be from 1 to 90');
    const owner = ctx.state.owner;
    const merchant = ctx.state.merchant;

    const today = new Date();
    today.setUTCHours(0, 0, 0, 0);
    const from = new Date(today.getTime() - (days - 1) * 86_400_000);
    const byDay = new Map<
      string,
      { date: string; count: number; captured: number; capturedAmount: number; declined: number }
    >();
    for (let i = 0; i < days; i++) {
      const date = new Date(from.getTime() + i * 86_400_000).toISOString().slice(0, 10);
      byDay.set(date, { date, count: 0, captured: 0, capturedAmount: 0, declined: 0 });
    }
    const reasons = new Map<string, number>();
    let captured = 0;
    let declined = 0;
    const partial = await walk(db, owner, { from }, (p) => {
      const day = byDay.get(p.createdAt.toISOString().slice(0, 10));
      if (!day) return;
      day.count++;
      if (p.status === 'captured') {
        day.captured++;
        captured++;
        if (p.currency === merchant.currency) day.capturedAmount += p.amount;
      } else if (DECLINED.has(p.status)) {
        day.declined++;
        declined++;
        reasons.set(p.message, (reasons.get(p.message) ?? 0) + 1);
      }
    });

    // Pending challenges: only payments younger than the account's challenge timeout can still be waiting.
    let pending3DS = 0;
    await walk(
      db,
      owner,
      { statuses: ['pending'], from: new Date(Date.now() - merchant.threeDSTimeoutMs) },
      (p) => void (p.threeDS && p.threeDSUrl ? pending3DS++ : undefined),
    );

    ctx.body = {
      currency: merchant.currency,
      days: [...byDay.values()],
      approvalRate: captured + declined === 0 ? null : captured / (captured + declined),
      declinesByReason: [...reasons.entries()]
        .map(([reason, count]) => ({ reason, count }))
        .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
      pending3DS,
      partial,
    };
  });
}
