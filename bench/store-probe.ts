import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Db, MongoClient } from 'mongodb';
import { projectRoot } from '../src/paths';
import type { MerchantDoc } from '../src/store/merchants';
import { findPayment, payments } from '../src/store/payment-records';
import {
  listPayments,
  type Owner,
  encodeKeyPart,
  paymentListing,
  paymentsOfUid,
  type PaymentFilters,
} from '../src/store/payment-listing';
import { findReference } from '../src/store/references';
import { ensureBinary, ferretdbSpec } from '../tools/binaries';
import { readyOrStopped, startProcess, waitUntilReady } from '../tools/process';
import { percentile } from './load';
import { populateTo, type StoredPayment } from './populate';
import { dashboardSection } from './report';
import { freePort } from '../tools/ports';
import { paymentKey } from '../workflows/vocabulary';

/**
 * Times the store operations the payment and status paths are made of, directly against MongoDB/FerretDB, at
 * each store size: an `_id` read (status, the simulator ledger), an `_id`-only update (vault, reservations), and
 * the sequence-guarded projection update (`{_id, seq: {$lt}}`, twice per payment). With the query plans of the
 * `_id` read and of the guarded filter, it says whether a slowdown is the database's or ours. Before timing, it
 * checks that those paths still answer right (the right document, guards respected), and fails loudly otherwise.
 *
 * The dashboard's payment queries are timed the same way (probeDashboard), with their plans.
 *
 * Run alone (no API, no Temporal): `npm run build && node dist/bench/store-probe.js [--ferretdb <binary>]`; it starts
 * its own FerretDB on a free port with a throwaway data dir, and BENCH_STORE_SIZES (1000,10000,100000) applies. It
 * ends with the "Dashboard queries" tables in the form BENCHMARKS.md shows them.
 */
export interface StoreProbe {
  stored: number;
  findByIdMs: number;
  updateByIdMs: number;
  /** null when not timed (large stores that scan: tens of seconds per call). */
  guardedUpdateMs: number | null;
  /** The database's own explanation of `find({_id})`. */
  idReadPlan: string;
  /** The same for the guarded filter `{_id, seq: {$lt}}`. */
  guardedReadPlan: string;
}

/** The dashboard's queries at one store size: p50/p95 over DASHBOARD_SAMPLES calls, and the plans they use. */
export interface DashboardProbe {
  stored: number;
  /** `target`: one of the queries issue 16's p95 target names (the first page, the Tid/Reference/Uid searches). */
  queries: { name: string; p50Ms: number; p95Ms: number; target: boolean }[];
  /** Each database query the dashboard queries are made of, with FerretDB's plan and pushdown flags. */
  plans: { query: string; plan: string }[];
}

const DASHBOARD_SAMPLES = 40;

/** The load tool's percentile (bench/load.ts), to 0.1 ms. */
function percentileMs(sorted: number[], p: number): number {
  return Math.round(percentile(sorted, p) * 10) / 10;
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

/** The `_id` paths must still be right, whatever makes them fast: the wanted document, and guards that hold. */
export async function checkStoreAnswers(db: Db, merchantId: string, stored: StoredPayment[]): Promise<void> {
  const sample = stored[Math.floor(stored.length / 2)]!;
  const key = paymentKey('test', merchantId, sample.tid);
  const fail = (what: string, got: unknown) => {
    throw new Error(`store probe: ${what} answered wrong (got ${JSON.stringify(got)}) at ${stored.length} stored`);
  };
  const found = await payments(db).findOne({ _id: key });
  if (found?._id !== key || found.tid !== sample.tid || found.reference !== sample.reference)
    fail(`find({_id: ${key}})`, found);
  const missing = await payments(db).findOne({ _id: `${key}-absent` });
  if (missing !== null) fail('find of an absent _id', missing);
  const set = { $set: { message: 'Payment was successful' } };
  // The stored payments have seq 2 (bench/populate.ts).
  const expectations: [string, () => Promise<number>, number][] = [
    [
      'updateOne({_id, seq: {$lt: 0}})',
      async () => (await payments(db).updateOne({ _id: key, seq: { $lt: 0 } }, set)).matchedCount,
      0,
    ],
    [
      'updateOne({_id, seq: {$lt: 3}})',
      async () => (await payments(db).updateOne({ _id: key, seq: { $lt: 3 } }, set)).matchedCount,
      1,
    ],
    [
      'countDocuments({_id, tid: other})',
      () => payments(db).countDocuments({ _id: key, tid: `${sample.tid}-other` }),
      0,
    ],
    ['countDocuments({_id, tid})', () => payments(db).countDocuments({ _id: key, tid: sample.tid }), 1],
  ];
  for (const [what, run, wanted] of expectations) {
    const got = await run();
    if (got !== wanted) fail(`${what} (wanted ${wanted})`, got);
  }
}

export async function probeStore(
  db: Db,
  merchantId: string,
  stored: StoredPayment[],
  options: { timeScanningGuard?: boolean } = {},
): Promise<StoreProbe> {
  await checkStoreAnswers(db, merchantId, stored);
  const key = () => paymentKey('test', merchantId, stored[Math.floor(Math.random() * stored.length)]!.tid);
  // Full scans cost seconds per call on a large store: fewer samples there keep the run short.
  const samples = stored.length > 50_000 ? 3 : 9;
  const findByIdMs = await timed(samples, () => payments(db).findOne({ _id: key() }));
  const updateByIdMs = await timed(samples, () =>
    payments(db).updateOne({ _id: key() }, { $set: { message: 'Payment was successful' } }),
  );
  // Where `_id` lookups scan (unpatched FerretDB: its guarded update decodes every stored payment, tens of seconds
  // at 100k), the guarded update is timed only up to 10k, where the trend is already plain, unless asked for; and
  // a first call over a second is the only sample.
  const scans = Math.max(findByIdMs, updateByIdMs) > 50;
  const guardedUpdate = () =>
    payments(db).updateOne({ _id: key(), seq: { $lt: 0 } }, { $set: { message: 'Payment was successful' } });
  let guardedUpdateMs: number | null = null;
  if (stored.length <= 10_000 || !scans || options.timeScanningGuard) {
    const first = await timed(1, guardedUpdate);
    guardedUpdateMs = first > 1000 ? first : await timed(samples, guardedUpdate);
  }
  const explain = async (filter: Record<string, unknown>) =>
    planOf(await db.command({ explain: { find: 'payments', filter } }));
  return {
    stored: stored.length,
    findByIdMs,
    updateByIdMs,
    guardedUpdateMs,
    idReadPlan: await explain({ _id: key() }),
    guardedReadPlan: await explain({ _id: key(), seq: { $lt: 0 } }),
  };
}

function explainLine(explained: Record<string, unknown>): string {
  const flags = ['filterPushdown', 'sortPushdown', 'limitPushdown']
    .filter((flag) => flag in explained)
    .map((flag) => `${flag} ${String(explained[flag])}`);
  return `${planOf(explained)}${flags.length ? ` (${flags.join(', ')})` : ''}`;
}

/**
 * Times the dashboard's payment queries (src/store/payment-listing.ts and the `_id` reads of the Tid and Reference
 * searches) on the populated store, after checking that they answer right: the newest payments first, the page
 * after through the cursor, a status filter keeping only its status in order, the Uid search finding exactly that
 * customer's payments.
 */
export async function probeDashboard(db: Db, merchantId: string, stored: StoredPayment[]): Promise<DashboardProbe> {
  const owner: Owner = { merchantId, mode: 'test' };
  const fail = (what: string, got: unknown) => {
    throw new Error(`dashboard probe: ${what} answered wrong (got ${JSON.stringify(got)}) at ${stored.length} stored`);
  };
  const newestFirst = [...stored].reverse();
  const tids = (page: { payments: { tid: string }[] }) => page.payments.map((p) => p.tid);
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

  const first = await listPayments(db, owner, {}, null, 25);
  if (
    !same(
      tids(first),
      newestFirst.slice(0, 25).map((p) => p.tid),
    )
  )
    fail('the first page', tids(first));
  const second = await listPayments(db, owner, {}, first.next, 25);
  if (
    !same(
      tids(second),
      newestFirst.slice(25, 50).map((p) => p.tid),
    )
  )
    fail('the second page', tids(second));
  const failedFilter: PaymentFilters = { statuses: ['failed'] };
  const failed = await listPayments(db, owner, failedFilter, null, 25);
  const wantFailed = newestFirst.filter((p) => p.status === 'failed').slice(0, 25);
  if (
    !same(
      tids(failed),
      wantFailed.map((p) => p.tid),
    )
  )
    fail('status=failed', tids(failed));
  const sample = stored[Math.floor(stored.length / 2)]!;
  const ofUid = await paymentsOfUid(db, owner, sample.uid, null, 100);
  const wantUid = newestFirst.filter((p) => p.uid === sample.uid).slice(0, 100);
  if (
    !same(
      tids(ofUid),
      wantUid.map((p) => p.tid),
    )
  )
    fail(`Uid ${sample.uid}`, tids(ofUid));

  const pick = () => stored[Math.floor(Math.random() * stored.length)]!;
  // Rare on purpose: pending with 3-D Secure is about 0.7% of the store, so the walk reaches its bound on examined
  // listing documents (src/store/payment-listing.ts MAX_EXAMINED) and answers a short page with `next`.
  const rareFilter: PaymentFilters = { statuses: ['pending'], threeDS: true };
  const queries: [string, boolean, () => Promise<unknown>][] = [
    ['first page of payments (25)', true, () => listPayments(db, owner, {}, null, 25)],
    ['next page (cursor)', false, () => listPayments(db, owner, {}, first.next, 25)],
    ['filtered first page: status failed (15%)', false, () => listPayments(db, owner, failedFilter, null, 25)],
    [
      'filtered, rare: pending + 3DS (0.7%, examined bound)',
      false,
      () => listPayments(db, owner, rareFilter, null, 25),
    ],
    ['search by Tid', true, () => findPayment(db, paymentKey('test', merchantId, pick().tid))],
    [
      'search by Reference',
      true,
      async () => {
        const ref = await findReference(db, pick().reference, owner);
        return ref && findPayment(db, ref.paymentKey);
      },
    ],
    ['search by Uid (25)', true, () => paymentsOfUid(db, owner, pick().uid, null, 25)],
  ];
  const timings: DashboardProbe['queries'] = [];
  for (const [name, target, run] of queries) {
    await run(); // warm
    const samples: number[] = [];
    for (let i = 0; i < DASHBOARD_SAMPLES; i++) {
      const started = performance.now();
      await run();
      samples.push(performance.now() - started);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    timings.push({ name, target, p50Ms: percentileMs(sorted, 50), p95Ms: percentileMs(sorted, 95) });
  }

  const prefix = `test:${merchantId}:`;
  const pageKeys = first.payments.map((p) => p._id);
  const explain = async (collection: string, find: Record<string, unknown>) =>
    explainLine(await db.command({ explain: { find: collection, ...find } }));
  const plans: DashboardProbe['plans'] = [
    {
      query:
        'the pages and filtered batches: `payment_listing` find `{_id: {$gte: "test:{merchant}:t:", $lt: "…t;"}}` ' +
        'sort `{_id: 1}` limit 26',
      plan: await explain(paymentListing(db).collectionName, {
        filter: { _id: { $gte: `${prefix}t:`, $lt: `${prefix}t;` } },
        sort: { _id: 1 },
        limit: 26,
      }),
    },
    {
      query:
        'the Uid search: `payment_listing` find `{_id: {$gte: "test:{merchant}:u:{Uid}:", $lt: "…;"}}` sort `{_id: 1}` limit 26',
      plan: await explain(paymentListing(db).collectionName, {
        filter: {
          _id: { $gte: `${prefix}u:${encodeKeyPart(sample.uid)}:`, $lt: `${prefix}u:${encodeKeyPart(sample.uid)};` },
        },
        sort: { _id: 1 },
        limit: 26,
      }),
    },
    {
      query: "every list's payments: `payments` find `{_id: {$in: [25 keys]}}`",
      plan: await explain('payments', { filter: { _id: { $in: pageKeys } } }),
    },
    {
      query: 'by Tid: `payments` find `{_id}`',
      plan: await explain('payments', { filter: { _id: pageKeys[0] } }),
    },
    {
      query: 'by Reference: `references` find `{_id}`, then the payment by `_id` as above',
      plan: await explain('references', { filter: { _id: sample.reference } }),
    },
  ];
  return { stored: stored.length, queries: timings, plans };
}

/** The standalone run: its own FerretDB (the built one, or `--ferretdb <binary>`), a synthetic store, the probe. */
async function main(): Promise<void> {
  const at = process.argv.indexOf('--ferretdb');
  const binary = at > 0 ? path.resolve(process.argv[at + 1] ?? '') : await ensureBinary(ferretdbSpec);
  const sizes = (process.env.BENCH_STORE_SIZES ?? '1000,10000,100000').split(',').map(Number);
  const dataDir = path.join(projectRoot, '.data', 'bench', `store-probe-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const port = await freePort();
  const url = `mongodb://127.0.0.1:${port}/`;
  const proc = startProcess(
    'ferretdb',
    binary,
    ['--listen-addr', `127.0.0.1:${port}`, '--sqlite-dir', path.join(dataDir, 'ferretdb'), '--log-level', 'error'],
    {
      logDir: dataDir,
    },
  );
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await readyOrStopped(proc, () =>
      waitUntilReady(proc, 'FerretDB', async () => (await client.db('admin').command({ ping: 1 })).ok === 1),
    );
    const db = client.db('store_probe');
    const merchant: MerchantDoc = {
      _id: 'mer_storeprobe0000000',
      name: 'Store probe',
      status: 'active',
      currency: 'EUR',
      maxAmount: null,
      threeDSAllowed: false,
      requiredFields: [],
      threeDSTimeoutMs: 600_000,
      refundWindowMs: 86_400_000,
      liveConnector: null,
      webhookSecrets: [],
      createdAt: new Date(),
    };
    const stored: StoredPayment[] = [];
    const dashboards: DashboardProbe[] = [];
    console.log(`store probe against ${binary}`);
    for (const size of sizes) {
      const populateMs = await populateTo(db, merchant, stored, size);
      const probe = await probeStore(db, merchant._id, stored, { timeScanningGuard: true });
      const dashboard = await probeDashboard(db, merchant._id, stored);
      dashboards.push(dashboard);
      console.log(
        `${size} stored: dashboard queries (p50/p95 ms) ` +
          dashboard.queries.map((q) => `${q.name} ${q.p50Ms}/${q.p95Ms}`).join(', '),
      );
      console.log(
        `${size} stored (inserted in ${populateMs} ms): find by _id ${probe.findByIdMs} ms, update by _id ${probe.updateByIdMs} ms, ` +
          `guarded update ${probe.guardedUpdateMs} ms; answers checked\n  _id plan: ${probe.idReadPlan}\n  guarded plan: ${probe.guardedReadPlan}`,
      );
    }
    console.log(`\n${dashboardSection(dashboards).join('\n')}`);
  } finally {
    await client.close();
    await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
