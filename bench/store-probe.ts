import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Db, MongoClient } from 'mongodb';
import { projectRoot } from '../src/paths';
import type { MerchantDoc } from '../src/store/merchants';
import { payments } from '../src/store/payment-records';
import { ensureBinary, ferretdbSpec } from '../tools/binaries';
import { readyOrStopped, startProcess, waitUntilReady } from '../tools/process';
import { populateTo, type StoredPayment } from './populate';
import { freePort } from '../tools/ports';
import { paymentKey } from '../workflows/vocabulary';

/**
 * Times the store operations the payment and status paths are made of, directly against MongoDB/FerretDB, at
 * each store size: an `_id` read (status, the simulator ledger), an `_id`-only update (vault, reservations), and
 * the sequence-guarded projection update (`{_id, seq: {$lt}}`, twice per payment). With the query plans of the
 * `_id` read and of the guarded filter, it says whether a slowdown is the database's or ours. Before timing, it
 * checks that those paths still answer right (the right document, guards respected), and fails loudly otherwise.
 *
 * Run alone (no API, no Temporal): `npm run build && node dist/bench/store-probe.js [--ferretdb <binary>]`; it starts
 * its own FerretDB on a free port with a throwaway data dir, and BENCH_STORE_SIZES (1000,10000,100000) applies.
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
    console.log(`store probe against ${binary}`);
    for (const size of sizes) {
      const populateMs = await populateTo(db, merchant, stored, size);
      const probe = await probeStore(db, merchant._id, stored, { timeScanningGuard: true });
      console.log(
        `${size} stored (inserted in ${populateMs} ms): find by _id ${probe.findByIdMs} ms, update by _id ${probe.updateByIdMs} ms, ` +
          `guarded update ${probe.guardedUpdateMs} ms; answers checked\n  _id plan: ${probe.idReadPlan}\n  guarded plan: ${probe.guardedReadPlan}`,
      );
    }
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
