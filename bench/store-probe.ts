import type { Db } from 'mongodb';
import { paymentKey, payments } from '../src/store/payments';
import type { StoredPayment } from './populate';

/**
 * Times the store operations the payment and status paths are made of, directly against MongoDB/FerretDB, at
 * each store size: an `_id` read (status, the simulator ledger), an `_id`-only update (vault, reservations), and
 * the sequence-guarded projection update (`{_id, seq: {$lt}}`, twice per payment). With the query plan of the
 * `_id` read, it says whether a slowdown is the database's or ours.
 */
export interface StoreProbe {
  stored: number;
  findByIdMs: number;
  updateByIdMs: number;
  /** null when not timed (large stores). */
  guardedUpdateMs: number | null;
  /** The database's own explanation of `find({_id})`. */
  idReadPlan: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 10) / 10;
}

async function timed(times: number, op: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await op();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

function planOf(explained: Record<string, unknown>): string {
  const planner = explained.queryPlanner as Record<string, unknown> | undefined;
  if (!planner) return 'unknown';
  // FerretDB answers with SQLite's EXPLAIN QUERY PLAN lines; MongoDB with its winning plan's stage.
  if (Array.isArray(planner.Plan)) return (planner.Plan as unknown[]).map(String).join('; ');
  const winning = planner.winningPlan as { stage?: string } | undefined;
  return winning?.stage ?? JSON.stringify(planner).slice(0, 200);
}

export async function probeStore(db: Db, merchantId: string, stored: StoredPayment[]): Promise<StoreProbe> {
  const key = () => paymentKey('test', merchantId, stored[Math.floor(Math.random() * stored.length)]!.tid);
  // Full scans cost seconds per call on a large FerretDB store: fewer samples there keep the run short.
  const samples = stored.length > 50_000 ? 3 : 9;
  const findByIdMs = await timed(samples, () => payments(db).findOne({ _id: key() }));
  const updateByIdMs = await timed(samples, () => payments(db).updateOne({ _id: key() }, { $set: { message: 'Payment was successful' } }));
  // On FerretDB this one decodes every stored payment (tens of seconds at 100k): timed up to 10k, where the trend is
  // already plain, and left out above that so the run stays short.
  const guardedUpdateMs =
    stored.length > 10_000
      ? null
      : await timed(3, () => payments(db).updateOne({ _id: key(), seq: { $lt: 0 } }, { $set: { message: 'Payment was successful' } }));
  const explained = await db.command({ explain: { find: 'payments', filter: { _id: key() } } });
  return { stored: stored.length, findByIdMs, updateByIdMs, guardedUpdateMs, idReadPlan: planOf(explained) };
}
