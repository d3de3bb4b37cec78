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
import { type Postgres, startPostgres } from '../tools/postgres';
import type { ManagedProcess } from '../tools/process';
import { FERRETDB_BACKENDS, type FerretdbBackend, startFerretdb } from '../tools/servers';
import { percentile } from './load';
import { populateEach, type StoredPayment } from './populate';
import { cpuMsOf } from './resources';
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
 * Run alone (no API, no Temporal): `npm run build && node dist/bench/store-probe.js [--ferretdb <binary>]`. It
 * compares FerretDB's two backends side by side (BENCHMARKS.md, "FerretDB backends"; docs/ferretdb-backends.md):
 * a FerretDB on SQLite and one on PostgreSQL (a PostgreSQL of its own, tools/postgres.ts), on free ports with a
 * throwaway data dir, filled with the same documents at each size, then probed one after the other at that size:
 * the `_id` paths, each dashboard query timed alone (p50/p95) and under concurrent callers (calls/s, and the CPU
 * FerretDB and PostgreSQL spent per call). Settings: BENCH_STORE_SIZES (1000,10000,100000),
 * BENCH_FERRETDB_BACKENDS (sqlite,postgresql), BENCH_PROBE_CONCURRENCY (4), BENCH_PROBE_WINDOW_MS (3000),
 * BENCH_PROBE_BUDGET_MS (10000: a query's sequential samples stop once they took that long, 5 at least),
 * BENCH_PROBE_SKIP_OVER_MS (2000: a query slower than that at one size is not run at the larger ones on that
 * backend; its answers are still checked). It ends with the comparison tables and the SQLite "Dashboard queries"
 * table in the form BENCHMARKS.md shows them.
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

/** A PostgreSQL plan node (EXPLAIN FORMAT JSON) as one line: `Limit > Sort > Seq Scan on table`. */
function postgresPlanLine(node: Record<string, unknown>): string {
  const on = typeof node['Relation Name'] === 'string' ? ` on ${node['Relation Name']}` : '';
  const using = typeof node['Index Name'] === 'string' ? ` using ${node['Index Name']}` : '';
  const below = Array.isArray(node.Plans)
    ? (node.Plans as Record<string, unknown>[]).map(postgresPlanLine).join(' + ')
    : '';
  return `${String(node['Node Type'])}${using}${on}${below ? ` > ${below}` : ''}`;
}

function planOf(explained: Record<string, unknown>): string {
  const planner = explained.queryPlanner as Record<string, unknown> | undefined;
  if (!planner) return 'unknown';
  // FerretDB answers with SQLite's EXPLAIN QUERY PLAN lines, or PostgreSQL's EXPLAIN (FORMAT JSON) plan tree;
  // MongoDB with its winning plan's stage.
  if (Array.isArray(planner.Plan)) return (planner.Plan as unknown[]).map(String).join('; ');
  if (planner.Plan && typeof planner.Plan === 'object')
    return postgresPlanLine(planner.Plan as Record<string, unknown>);
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

/** One dashboard query, ready to call; `target`: one of the queries issue 16's p95 target names. */
export interface DashboardQuery {
  name: string;
  target: boolean;
  run: () => Promise<unknown>;
}

/**
 * The dashboard's payment queries (src/store/payment-listing.ts and the `_id` reads of the Tid and Reference
 * searches) on the populated store, after checking that they answer right: the newest payments first, the page
 * after through the cursor, a status filter keeping only its status in order, the Uid search finding exactly that
 * customer's payments. `plans()` explains each database query they are made of.
 */
export async function dashboardQueries(
  db: Db,
  merchantId: string,
  stored: StoredPayment[],
): Promise<{ queries: DashboardQuery[]; plans: () => Promise<DashboardProbe['plans']> }> {
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
  const queries: DashboardQuery[] = [
    { name: 'first page of payments (25)', target: true, run: () => listPayments(db, owner, {}, null, 25) },
    { name: 'next page (cursor)', target: false, run: () => listPayments(db, owner, {}, first.next, 25) },
    {
      name: 'filtered first page: status failed (15%)',
      target: false,
      run: () => listPayments(db, owner, failedFilter, null, 25),
    },
    {
      name: 'filtered, rare: pending + 3DS (0.7%, examined bound)',
      target: false,
      run: () => listPayments(db, owner, rareFilter, null, 25),
    },
    { name: 'search by Tid', target: true, run: () => findPayment(db, paymentKey('test', merchantId, pick().tid)) },
    {
      name: 'search by Reference',
      target: true,
      run: async () => {
        const ref = await findReference(db, pick().reference, owner);
        return ref && findPayment(db, ref.paymentKey);
      },
    },
    { name: 'search by Uid (25)', target: true, run: () => paymentsOfUid(db, owner, pick().uid, null, 25) },
  ];

  const prefix = `test:${merchantId}:`;
  const pageKeys = first.payments.map((p) => p._id);
  const explain = async (collection: string, find: Record<string, unknown>) =>
    explainLine(await db.command({ explain: { find: collection, ...find } }));
  const plans = async (): Promise<DashboardProbe['plans']> => [
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
  return { queries, plans };
}

/**
 * p50/p95 of each query over DASHBOARD_SAMPLES sequential calls after one warm-up call; with `budgetMs`, a query
 * stops being sampled once its calls took that long (at least 5 calls): a query that scans a large store costs
 * seconds per call.
 */
export async function timeQueries(queries: DashboardQuery[], budgetMs = Infinity): Promise<DashboardProbe['queries']> {
  const timings: DashboardProbe['queries'] = [];
  for (const { name, target, run } of queries) {
    await run(); // warm
    const samples: number[] = [];
    const deadline = performance.now() + budgetMs;
    for (let i = 0; i < DASHBOARD_SAMPLES && (i < 5 || performance.now() < deadline); i++) {
      const started = performance.now();
      await run();
      samples.push(performance.now() - started);
    }
    const sorted = [...samples].sort((a, b) => a - b);
    timings.push({ name, target, p50Ms: percentileMs(sorted, 50), p95Ms: percentileMs(sorted, 95) });
  }
  return timings;
}

/** The dashboard's queries, checked, timed and explained (dashboardQueries, timeQueries). */
export async function probeDashboard(db: Db, merchantId: string, stored: StoredPayment[]): Promise<DashboardProbe> {
  const { queries, plans } = await dashboardQueries(db, merchantId, stored);
  return { stored: stored.length, queries: await timeQueries(queries), plans: await plans() };
}

/** Calls per second of one query under concurrent callers, and the CPU the servers spent per call. */
export interface QueryThroughput {
  name: string;
  callsPerSecond: number;
  /** CPU time of the measured server processes (FerretDB, and PostgreSQL's whole tree) per call; NaN if unknown. */
  cpuMsPerCall: number;
}

/**
 * Each query called by `concurrency` callers back to back for `windowMs` (a call under way at the end finishes
 * and counts): calls per second, and the CPU `serverCpuMs` (a cumulative counter, bench/resources.ts
 * cpuMsOf) grew by per call.
 */
export async function probeThroughput(
  queries: DashboardQuery[],
  serverCpuMs: () => number,
  options: { concurrency: number; windowMs: number },
): Promise<QueryThroughput[]> {
  const results: QueryThroughput[] = [];
  for (const { name, run } of queries) {
    await run(); // warm
    let calls = 0;
    const cpuBefore = serverCpuMs();
    const started = performance.now();
    const deadline = started + options.windowMs;
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (performance.now() < deadline) {
          await run();
          calls++;
        }
      }),
    );
    const elapsedMs = performance.now() - started;
    const cpuMs = serverCpuMs() - cpuBefore;
    results.push({ name, callsPerSecond: (calls * 1000) / elapsedMs, cpuMsPerCall: cpuMs / calls });
  }
  return results;
}

/** One backend's figures at one store size, from the side-by-side run. */
export interface BackendFigures {
  backend: FerretdbBackend;
  stored: number;
  /** Time spent inserting this size's new payments (with their Reference and listing documents), ms. */
  insertMs: number;
  store: StoreProbe;
  dashboard: DashboardProbe;
  throughput: QueryThroughput[];
  /** Queries not run at this size: their p50 at a smaller size was over `skipOverMs` (they scan). */
  skipped: string[];
}

/** Settings of the side-by-side run (environment variables of `node dist/bench/store-probe.js`). */
interface RunSettings {
  sizes: number[];
  backends: FerretdbBackend[];
  concurrency: number;
  windowMs: number;
  /** Per query, the sequential samples' time budget (timeQueries). */
  budgetMs: number;
  /** A query whose p50 was over this is not run at the larger sizes on that backend (it scans: minutes there). */
  skipOverMs: number;
}

function runSettings(env: NodeJS.ProcessEnv = process.env): RunSettings {
  const backends = (env.BENCH_FERRETDB_BACKENDS ?? FERRETDB_BACKENDS.join(',')).split(',').map((b) => b.trim());
  for (const backend of backends)
    if (!FERRETDB_BACKENDS.includes(backend as FerretdbBackend))
      throw new Error(`BENCH_FERRETDB_BACKENDS: ${backend} is not one of ${FERRETDB_BACKENDS.join(', ')}`);
  return {
    sizes: (env.BENCH_STORE_SIZES ?? '1000,10000,100000').split(',').map(Number),
    backends: backends as FerretdbBackend[],
    concurrency: Number(env.BENCH_PROBE_CONCURRENCY ?? 4),
    windowMs: Number(env.BENCH_PROBE_WINDOW_MS ?? 3000),
    budgetMs: Number(env.BENCH_PROBE_BUDGET_MS ?? 10_000),
    skipOverMs: Number(env.BENCH_PROBE_SKIP_OVER_MS ?? 2000),
  };
}

const BACKEND_TITLES: Record<FerretdbBackend, string> = { sqlite: 'SQLite', postgresql: 'PostgreSQL' };

function ms(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return value >= 100 ? Math.round(value).toLocaleString('en') : String(Math.round(value * 10) / 10);
}

/**
 * The side-by-side tables: per store size, each query's p50/p95 (sequential calls), calls/s under concurrent
 * callers and the servers' CPU per call, one column group per backend; then the `_id` paths of probeStore and
 * each backend's plans at the largest size.
 */
export function backendComparison(figures: BackendFigures[], settings: RunSettings): string[] {
  const backends = [...new Set(figures.map((f) => f.backend))];
  const titles = backends.map((b) => BACKEND_TITLES[b]);
  const lines: string[] = [];
  for (const size of [...new Set(figures.map((f) => f.stored))]) {
    const at = backends.map((b) => figures.find((f) => f.backend === b && f.stored === size)!);
    lines.push(
      `**${size.toLocaleString('en')} payments stored** (their ${(size * 2).toLocaleString('en')} listing documents ` +
        `and ${size.toLocaleString('en')} references; inserted in ${at.map((f, i) => `${ms(f.insertMs)} ms on ${titles[i]}`).join(', ')})`,
      '',
      `| query | ${titles.map((t) => `${t} p50 / p95 ms`).join(' | ')} | ${titles.map((t) => `${t} calls/s`).join(' | ')} | ${titles.map((t) => `${t} CPU ms/call`).join(' | ')} |`,
      `|---|${at.map(() => '---:|').join('')}${at.map(() => '---:|').join('')}${at.map(() => '---:|').join('')}`,
    );
    const names = [...new Set(at.flatMap((f) => [...f.dashboard.queries.map((q) => q.name), ...f.skipped]))];
    for (const name of names) {
      const timing = at.map((f) => f.dashboard.queries.find((q) => q.name === name));
      const rate = at.map((f) => f.throughput.find((q) => q.name === name));
      lines.push(
        `| ${name} | ${timing.map((q) => (q ? `${ms(q.p50Ms)} / ${ms(q.p95Ms)}` : 'not run')).join(' | ')} | ` +
          `${rate.map((q) => ms(q?.callsPerSecond ?? null)).join(' | ')} | ` +
          `${rate.map((q) => ms(q?.cpuMsPerCall ?? null)).join(' | ')} |`,
      );
    }
    const store = (name: string, pick: (p: StoreProbe) => number | null) =>
      `| ${name} | ${at.map((f) => ms(pick(f.store))).join(' | ')} |`;
    lines.push(
      '',
      `| \`_id\` path (median ms) | ${titles.join(' | ')} |`,
      `|---|${at.map(() => '---:|').join('')}`,
      store('find by `_id` (status, ledger)', (p) => p.findByIdMs),
      store('update by `_id` (vault, reservations)', (p) => p.updateByIdMs),
      store('guarded update `{_id, seq: {$lt}}` (projection)', (p) => p.guardedUpdateMs),
      '',
    );
  }
  const largest = Math.max(...figures.map((f) => f.stored));
  lines.push(
    `p50 / p95 over up to ${DASHBOARD_SAMPLES} sequential calls per query (fewer once a query's calls took ` +
      `${ms(settings.budgetMs / 1000)} s); calls/s with ${settings.concurrency} concurrent callers for ` +
      `${ms(settings.windowMs / 1000)} s; CPU per call: FerretDB's process, plus on PostgreSQL every process of the ` +
      'server (one per connection), over the same window. A call of the Reference search is two reads, of a list ' +
      'one listing range and one `$in` of its payments (more batches for the filtered lists). "not run": the ' +
      `query's p50 at a smaller size was over ${ms(settings.skipOverMs / 1000)} s on that backend (it scans).`,
    '',
  );
  for (const f of figures.filter((x) => x.stored === largest)) {
    lines.push(`Plans on ${BACKEND_TITLES[f.backend]} at ${largest.toLocaleString('en')} stored:`, '');
    lines.push(...f.dashboard.plans.map((p) => `- ${p.query}: \`${p.plan}\``));
    lines.push(`- guarded update's read \`{_id, seq: {$lt}}\`: \`${f.store.guardedReadPlan}\``, '');
  }
  return lines;
}

/** The servers' CPU counter of one FerretDB: its process, and the whole tree of the PostgreSQL it stores in. */
function serverCpu(pids: (number | undefined)[]): () => number {
  const trees = pids.flatMap((pid) => (pid === undefined ? [] : [{ tree: pid }]));
  return () => cpuMsOf(trees);
}

/**
 * The standalone run: a FerretDB per backend (the built one, or `--ferretdb <binary>`), the PostgreSQL backend's on
 * a PostgreSQL of its own (tools/postgres.ts), each filled with the same synthetic store at every size, then probed
 * one after the other at that size: `_id` paths, the dashboard's queries timed alone and under concurrent callers.
 */
async function main(): Promise<void> {
  const at = process.argv.indexOf('--ferretdb');
  const binary = at > 0 ? path.resolve(process.argv[at + 1] ?? '') : await ensureBinary(ferretdbSpec);
  const settings = runSettings();
  const dataDir = path.join(projectRoot, '.data', 'bench', `store-probe-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const servers: { backend: FerretdbBackend; client: MongoClient; proc: ManagedProcess; cpuMs: () => number }[] = [];
  let postgres: Postgres | undefined;
  try {
    if (settings.backends.includes('postgresql'))
      postgres = await startPostgres({
        dir: path.join(dataDir, 'postgres'),
        dataRoot: dataDir,
        logDir: path.join(dataDir, 'logs'),
      });
    for (const backend of settings.backends) {
      const url = `mongodb://127.0.0.1:${await freePort()}/`;
      const proc = await startFerretdb({ mongo: { url }, dataDir: path.join(dataDir, backend) }, binary, {
        backend,
        postgres,
      });
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
      const pids = [proc.child.pid, backend === 'postgresql' ? postgres?.server.child.pid : undefined];
      servers.push({ backend, client, proc, cpuMs: serverCpu(pids) });
    }
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
    const figures: BackendFigures[] = [];
    console.log(`store probe against ${binary}, backends ${settings.backends.join(', ')}`);
    const tooSlow = new Map(settings.backends.map((backend) => [backend, new Set<string>()]));
    for (const size of settings.sizes) {
      const dbs = servers.map((server) => server.client.db('store_probe'));
      const insertMs = await populateEach(dbs, merchant, stored, size);
      for (const [i, server] of servers.entries()) {
        const db = dbs[i]!;
        const skip = tooSlow.get(server.backend)!;
        const store = await probeStore(db, merchant._id, stored, { timeScanningGuard: true });
        // The answers are checked at every size, on every backend, skipped queries or not.
        const checked = await dashboardQueries(db, merchant._id, stored);
        const queries = checked.queries.filter((q) => !skip.has(q.name));
        const dashboard: DashboardProbe = {
          stored: stored.length,
          queries: await timeQueries(queries, settings.budgetMs),
          plans: await checked.plans(),
        };
        const throughput = await probeThroughput(queries, server.cpuMs, settings);
        figures.push({
          backend: server.backend,
          stored: size,
          insertMs: insertMs[i]!,
          store,
          dashboard,
          throughput,
          skipped: [...skip],
        });
        for (const q of dashboard.queries) if (q.p50Ms > settings.skipOverMs) skip.add(q.name);
        console.log(
          `${size} stored on ${server.backend} (inserted in ${insertMs[i]} ms), answers checked: find by _id ` +
            `${store.findByIdMs} ms, update by _id ${store.updateByIdMs} ms, guarded update ${store.guardedUpdateMs} ms; ` +
            dashboard.queries
              .map((q, n) => `${q.name} ${q.p50Ms}/${q.p95Ms} ms, ${ms(throughput[n]!.callsPerSecond)}/s`)
              .join('; '),
        );
      }
    }
    console.log(`\n${backendComparison(figures, settings).join('\n')}`);
    const sqlite = figures.filter((f) => f.backend === 'sqlite').map((f) => f.dashboard);
    if (sqlite.length > 0)
      console.log(`\nSQLite, as BENCHMARKS.md's "Dashboard queries":\n\n${dashboardSection(sqlite).join('\n')}`);
  } finally {
    await Promise.all(servers.map((server) => server.client.close()));
    await Promise.all(servers.map((server) => server.proc.stop()));
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
