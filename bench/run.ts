import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { type Db, MongoClient } from 'mongodb';
import { createMerchant } from '../src/auth/accounts';
import { type Config, ConfigError } from '../src/config';
import { projectRoot } from '../src/paths';
import { findMerchant, type MerchantDoc } from '../src/store/merchants';
import { temporalConnectionOptions } from '../src/temporal/connection-options';
import { type ManagedProcess, startProcess, waitUntilReady } from '../tools/process';
import {
  childEnv,
  type Stack,
  type StackProfile,
  stackProfileFromEnv,
  startApiProcess,
  startStack,
} from '../tools/stack';
import { type LoadResult, runAtRate, runConnections } from './load';
import { observabilityOn, OBS_ROUNDS, OBS_SECONDS, runObservability } from './observability';
import { populateTo, type StoredPayment } from './populate';
import { benchStackConfig } from './stack-config';
import {
  costOfRun,
  costPerRequest,
  comparisonReading,
  cpuAgainstEngine,
  cpuFloorAgainstEngine,
  limitReading,
  sizing,
} from './reading';
import { probeDashboard, probeStore, type DashboardProbe, type StoreProbe } from './store-probe';
import {
  BENCHMARKS_INTRO,
  type BenchResults,
  type Measured,
  type ProfileResults,
  type Ratio,
  renderMarkdown,
} from './report';
import { ResourceSampler, type Sampled } from './resources';
import {
  type Bench,
  BUDGETS,
  CLOSED_SECONDS,
  closed,
  CONNECTIONS,
  describeErrors,
  engineSpec,
  HALF_SECONDS,
  IDLE_SECONDS,
  log,
  type MadePayment,
  measured,
  noopSpec,
  paymentSpec,
  refundSpec,
  SETTLE_MS,
  sleep,
  statusSpec,
  STEP_SECONDS,
  stepUp,
  untilQuiet,
} from './scenarios';
import { freePort } from '../tools/ports';
import { removeStaleRunDirs } from '../tools/run-dirs';
import { paymentKey } from '../workflows/vocabulary';

/**
 * `npm run bench`: every scenario of the benchmark and its baselines in one run. The payment path (engine
 * ceiling, payments, refunds) runs on each stack profile in turn — the dev server, then the production-shaped
 * cluster (tools/temporal-cluster.ts) with two workers and two APIs — with the same load shape; the sections that
 * do not depend on Temporal (HTTP ceiling, status reads, store probes) run once, on the first profile's stack.
 * See BENCHMARKS.md for the method. Knobs (environment): BENCH_PROFILES (dev,cluster), BENCH_STEP_SECONDS (10),
 * BENCH_HALF_SECONDS (30), BENCH_CLOSED_SECONDS (10), BENCH_IDLE_SECONDS (10), BENCH_BUDGET_SCALE (1),
 * BENCH_REFUNDS (set to 0: none), BENCH_STORE_SIZES (1000,10000,100000), BENCH_CONNECTIONS (16),
 * BENCH_OBS_SECONDS (20; 0: no observability-cost section), BENCH_OBS_ROUNDS (3), BENCH_OBS_RATE (half the
 * sustainable payments rate), BENCH_OBS_PROFILES (dev), BENCH_SKIP_REPORT (set: no BENCHMARKS.md).
 */

const BENCH_ROOT = path.join(projectRoot, '.data', 'bench');
const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const BENCHMARKS_FILE = path.join(projectRoot, 'BENCHMARKS.md');
const DIST_BENCH = path.join(projectRoot, 'dist', 'bench');

const STORE_SIZES = (process.env.BENCH_STORE_SIZES ?? '1000,10000,100000').split(',').map(Number);
const REFUNDS = process.env.BENCH_REFUNDS !== '0';

/**
 * The stack profiles to run, in order: BENCH_PROFILES (comma-separated), by default both. With TEMPORAL_ADDRESS
 * set nothing of Temporal is started, so only one run makes sense: it measures that server.
 */
function profilesFromEnv(): StackProfile[] {
  const configured = process.env.TEMPORAL_ADDRESS !== undefined;
  const raw = process.env.BENCH_PROFILES?.trim();
  const names = raw ? raw.split(',').map((name) => name.trim()) : configured ? ['dev'] : ['dev', 'cluster'];
  const profiles = [...new Set(names.filter(Boolean).map((name) => stackProfileFromEnv({ SETTLEFLOW_STACK: name })))];
  if (profiles.length === 0) throw new Error('BENCH_PROFILES names no profile: dev, cluster or both');
  if (configured && profiles.length > 1)
    throw new Error(
      'BENCH_PROFILES names two profiles, but TEMPORAL_ADDRESS is set: both runs would measure that one server',
    );
  return profiles;
}

/** Each run gets a fresh data dir; those of earlier runs go (unless their process still runs). */
function freshDataDir(): string {
  removeStaleRunDirs(BENCH_ROOT);
  const dir = path.join(BENCH_ROOT, `run-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], {
      cwd: projectRoot,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} + uncommitted changes` : sha;
  } catch {
    return 'unknown';
  }
}

const loadAvg = () => os.loadavg().map((n) => Math.round(n * 100) / 100);

function machine(loadAvgBefore: number[]): BenchResults['machine'] {
  return {
    loadAvgBefore,
    loadAvgAfter: loadAvg(),
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    ramGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
  };
}

function ratio(
  name: string,
  numerator: string,
  denominator: string,
  a: number,
  b: number,
  target: number,
  targetText: string,
): Ratio {
  const value = b > 0 ? Number((a / b).toPrecision(3)) : 0;
  return { name, numerator, denominator, value, target: targetText, met: value >= target };
}

/** The engine baseline beside a stack: as many baseline servers and engine workers as it has APIs and workers. */
async function startBaselines(
  config: Config,
  statusConfig: Config,
  merchantId: string,
  replicas: number,
): Promise<{ processes: Record<string, ManagedProcess>; urls: string[] }> {
  const logDir = path.join(config.dataDir, 'logs');
  const processes: Record<string, ManagedProcess> = {};
  const urls: string[] = [];
  const ready: Promise<void>[] = [];
  for (let i = 1; i <= replicas; i++) {
    const suffix = i === 1 ? '' : `-${i}`;
    const port = await freePort();
    // The no-auth status baseline reads the status scenario's database, as the API it is compared with does. The
    // environment is made as the stack's own children's is (Temporal's connection settings from the config only).
    const env = childEnv(statusConfig, { BENCH_MERCHANT_ID: merchantId, BENCH_BASELINE_PORT: String(port) });
    const engineWorker = startProcess(
      `bench-engine-worker${suffix}`,
      process.execPath,
      [path.join(DIST_BENCH, 'engine-worker.js')],
      { logDir, env },
    );
    const baseline = startProcess(
      `bench-baseline${suffix}`,
      process.execPath,
      [path.join(DIST_BENCH, 'baseline-server.js')],
      { logDir, env },
    );
    processes[`engine-worker${suffix}`] = engineWorker;
    processes[`baseline${suffix}`] = baseline;
    const url = `http://${config.host}:${port}`;
    urls.push(url);
    ready.push(
      waitUntilReady(engineWorker, 'bench engine worker', () =>
        readFile(engineWorker.logFile, 'utf8').then((text) => text.includes('bench-engine-worker ready')),
      ),
      waitUntilReady(
        baseline,
        'bench baseline server',
        async () => (await fetch(`${url}/noop`, { method: 'POST' })).status === 200,
      ),
    );
  }
  try {
    await Promise.all(ready);
  } catch (err) {
    await Promise.all(Object.values(processes).map((proc) => proc.stop()));
    throw err;
  }
  return { processes, urls };
}

/** The shard count as the frontend reports it: 1 on the dev server, NUM_HISTORY_SHARDS on the cluster. */
async function historyShards(config: Config): Promise<number> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '10s' });
  try {
    const info = await connection.workflowService.getClusterInfo({});
    return info.historyShardCount ?? 0;
  } finally {
    await connection.close();
  }
}

/**
 * Every process of the stack by key, as the sampler reads them: the SettleFlow APIs and workers (`api`, `api-2`,
 * `worker`, `worker-2`), Temporal (the dev server as `temporal`, or the cluster's `frontend`, `matching`,
 * `temporal-worker`, `history-N` and `ui`), PostgreSQL as its postmaster's process tree, FerretDB, the bench's
 * extra processes, and this process as the load tool. Read at each sample: a restarted process has a new pid.
 */
function stackProcesses(stack: Stack, extra: Record<string, ManagedProcess>): Record<string, Sampled | undefined> {
  const sampled: Record<string, Sampled | undefined> = {
    api: stack.api?.child.pid,
    worker: stack.worker?.child.pid,
  };
  for (const proc of [...stack.moreApis, ...stack.moreWorkers]) sampled[proc.name] = proc.child.pid;
  if (stack.cluster) {
    for (const [name, proc] of stack.cluster.processes)
      sampled[name === 'worker' ? 'temporal-worker' : name] = proc.child.pid;
    const postmaster = stack.cluster.postgres.server.child.pid;
    sampled.postgres = postmaster === undefined ? undefined : { tree: postmaster };
  } else sampled.temporal = stack.temporal?.child.pid;
  sampled.ferretdb = stack.ferretdb?.child.pid;
  for (const [name, proc] of Object.entries(extra)) sampled[name] = proc.child.pid;
  sampled.load = process.pid;
  return sampled;
}

/** What the sections that do not depend on Temporal measured (run on the first profile's stack). */
interface StatusPart {
  status: BenchResults['status'];
  baselines: BenchResults['baselines'];
  ratios: Ratio[];
}

interface ProfileContext {
  profile: StackProfile;
  dataDir: string;
  runTag: string;
  notes: string[];
  withStatus: boolean;
}

async function profileConfig(profile: StackProfile, dataDir: string): Promise<Config> {
  return benchStackConfig(dataDir, {
    // A database per profile: with MONGODB_URL both profiles' workflows would otherwise write the same one.
    MONGODB_DB: `${process.env.BENCH_MONGODB_DB ?? 'settleflow_bench'}_${profile}`,
    // One key drives each scenario far past the default request limit; the limiter still counts every request.
    RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '1000000000',
  });
}

function temporalDescription(stack: Stack): string {
  if (!stack.config.temporal.embedded) return `configured server (${stack.config.temporal.address})`;
  if (!stack.cluster) return 'CLI dev server: one process, SQLite';
  const services = [...stack.cluster.processes.keys()]
    .filter((name) => name !== 'ui')
    .map((name) => (name === 'worker' ? 'internal worker' : name));
  return `cluster: ${services.join(', ')}, each a process; PostgreSQL`;
}

/** The payment path on one stack profile (and, on the first, the sections that do not depend on Temporal). */
async function runProfile(ctx: ProfileContext): Promise<{ results: ProfileResults; statusPart?: StatusPart }> {
  const { profile } = ctx;
  const config = await profileConfig(profile, ctx.dataDir);
  const replicas = profile === 'cluster' ? 2 : 1;
  log(
    `${profile}: data dir ${path.relative(projectRoot, ctx.dataDir)}; Temporal ${config.temporal.embedded ? 'embedded' : 'configured'}, MongoDB ${config.mongo.embedded ? 'embedded (FerretDB)' : 'configured'}`,
  );
  const started = Date.now();
  const stack = await startStack(config, { log, profile, replicas });
  const startSeconds = Math.round((Date.now() - started) / 100) / 10;
  const extra: Record<string, ManagedProcess> = {};
  // From here on the stack's own config: it is what its processes were started with (the cluster's client
  // certificate included, once the frontend requires one).
  const stackConfig = stack.config;
  const mongo = new MongoClient(stackConfig.mongo.url, { retryWrites: false });
  try {
    const statusConfig: Config = {
      ...stackConfig,
      port: await freePort(),
      mongo: { ...stackConfig.mongo, dbName: `${stackConfig.mongo.dbName}_status` },
    };
    const db = mongo.db(stackConfig.mongo.dbName);
    const statusDb = mongo.db(statusConfig.mongo.dbName);
    // A configured MongoDB keeps the bench databases between runs: every run starts from empty ones.
    if (!stackConfig.mongo.embedded) await Promise.all([db.dropDatabase(), statusDb.dropDatabase()]);
    const payer = await createMerchant(db, stackConfig, { name: 'Bench shop' });
    const statusMerchant = await createMerchant(statusDb, statusConfig, { name: 'Bench status shop' });
    const merchant = (await findMerchant(statusDb, statusMerchant.merchantId))!;

    const baselines = await startBaselines(stackConfig, statusConfig, merchant._id, replicas);
    Object.assign(extra, baselines.processes);
    const shards = await historyShards(stackConfig);
    log(
      `${profile}: stack up in ${startSeconds} s (${shards} history shards): API ${stack.apiUrls.join(', ')}, baselines ${baselines.urls.join(', ')}`,
    );

    const sampler = new ResourceSampler(() => stackProcesses(stack, extra));
    // Idle first, once start-up work (namespace caches, shard acquisition, JIT) has died down.
    await sleep(SETTLE_MS);
    sampler.start();
    await sleep(IDLE_SECONDS * 1000);
    const idle = { seconds: IDLE_SECONDS, usage: sampler.stop().usage };
    const idlePct = Object.entries(idle.usage)
      .filter(([key]) => key !== 'load')
      .reduce((sum, [, u]) => sum + u.avgCpu, 0);
    log(`${profile}: idle, the stack's processes use ${idlePct}% of a core in all`);
    const serverPids = () =>
      Object.entries(stackProcesses(stack, extra))
        .filter((entry): entry is [string, Sampled] => entry[0] !== 'load' && entry[1] !== undefined)
        .map(([, sampled]) => sampled);
    const bench: Bench = { sampler, quiet: () => untilQuiet(serverPids, idlePct) };

    // ── 4a. HTTP ceiling (once: it does not involve Temporal) ──
    let http: Measured | undefined;
    if (ctx.withStatus) {
      log('baseline: HTTP ceiling (bare Koa)');
      http = await closed(bench, 'HTTP ceiling: bare Koa /noop', baselines.urls[0]!, noopSpec);
    }

    // ── 4b. Engine ceiling ──
    log(`${profile}: engine ceiling (no-op workflow, update-with-start)`);
    const engine = await stepUp(bench, `${profile} engine`, baselines.urls, engineSpec, { budgetS: BUDGETS.engine });

    // ── 1. Payments ──
    log(`${profile}: payments, open model, stepped`);
    const captured: MadePayment[] = [];
    // The payment store grows through the run, and FerretDB's cost per payment with it: each step says how large.
    const made = { payments: 0 };
    const storeSize = () => `${made.payments.toLocaleString('en')} payments stored`;
    const payments = await stepUp(
      bench,
      `${profile} payments`,
      stack.apiUrls,
      paymentSpec(payer.testKey, `${ctx.runTag}${profile[0]}`, captured, made),
      { budgetS: BUDGETS.payments, context: storeSize },
    );

    // ── 2. A payment's own work outside Temporal, at the rate its CPU is measured at (the floor of that CPU) ──
    const work = payments.half
      ? await paymentWorkBaseline(bench, extra, stackConfig, payer.merchantId, payments.half.targetRate ?? 0)
      : undefined;

    // CPU per request falls as the rate rises (fixed costs shared, the Go servers' idle spinning turned into work),
    // so the engine's cost at its own half rate flatters it against payments at theirs: also measured at the
    // payments' half rate, like against like.
    const engineAtPaymentRate =
      payments.half?.targetRate && payments.half.targetRate !== engine.half?.targetRate
        ? await engineAtRate(bench, baselines.urls, payments.half.targetRate)
        : engine.half;

    // ── 3. Refunds, on the payments just captured (and more made first if a step would run out) ──
    let refunds: ProfileResults['refunds'];
    if (REFUNDS) {
      log(`${profile}: refunds, ${captured.length} captured payments available`);
      let precreated = 0;
      const precreateSpec = paymentSpec(payer.testKey, `${ctx.runTag}${profile[0]}r`, captured, made);
      const stepped = await stepUp(bench, `${profile} refunds`, stack.apiUrls, refundSpec(payer.testKey, captured), {
        budgetS: BUDGETS.refunds,
        half: false,
        // The payments just run warmed up the same processes; a warm-up here would spend captured payments.
        warmUp: false,
        context: storeSize,
        beforeStep: async (rate, seconds) => {
          const needed = rate * seconds - captured.length;
          if (needed <= 0) return true;
          // Never more than a few seconds' worth at the payment rate found above: the refund step is what we time.
          if (needed > Math.max(payments.sustainableRate, 5) * 30) {
            ctx.notes.push(
              `${profile}: refund stepping stopped before ${rate}/s: it would need ${needed} more captured payments first.`,
            );
            return false;
          }
          log(`${profile} refunds: making ${needed} captured payments first`);
          const before = captured.length;
          await runConnections(stack.apiUrl, precreateSpec, Math.min(CONNECTIONS, needed), { amount: needed });
          precreated += captured.length - before;
          await sleep(SETTLE_MS);
          return captured.length >= rate * seconds;
        },
      });
      refunds = { ...stepped, precreated };
    }

    const statusPart = ctx.withStatus
      ? await statusSections(bench, extra, {
          statusConfig,
          statusDb,
          statusKey: statusMerchant.testKey,
          merchant,
          baselineUrl: baselines.urls[0]!,
          http: http!,
        })
      : undefined;

    // ── 5. Observability cost: last, as it restarts the stack's API and worker for every window ──
    const observability = observabilityOn(profile)
      ? await runObservability({
          profile,
          stack,
          bench,
          extra,
          spec: paymentSpec(payer.testKey, `${ctx.runTag}${profile[0]}o`, captured, made),
          sustainableRate: payments.sustainableRate,
          idle: idle.usage,
          notes: ctx.notes,
        })
      : undefined;

    const cost = {
      payments: costPerRequest(payments, idle.usage),
      engine: costPerRequest(engine, idle.usage),
      work: work && costOfRun(work, idle.usage),
      engineAtPaymentRate: engineAtPaymentRate && costOfRun(engineAtPaymentRate, idle.usage),
    };
    const results: ProfileResults = {
      profile: stackConfig.temporal.embedded ? profile : 'configured',
      temporal: temporalDescription(stack),
      historyShards: shards,
      replicas,
      startSeconds,
      idle,
      engine,
      payments,
      ...(refunds ? { refunds } : {}),
      cost,
      ...(work ? { work } : {}),
      limits: {
        payments: limitReading('payments', payments, cost.payments),
        engine: limitReading('engine ceiling', engine, cost.engine),
      },
      sizing: sizing(shards, payments, engine, cost.payments, stack.cluster !== undefined),
      ...(observability ? { observability } : {}),
    };
    for (const line of [results.limits.payments, results.limits.engine]) log(`${profile}: ${line}`);
    return { results, statusPart };
  } finally {
    await mongo.close().catch(() => undefined);
    await Promise.all(Object.values(extra).map((p) => p.stop()));
    await stack.stop();
  }
}

/** The engine's no-op workflow at one open-model rate, for as long as a half-rate run. */
async function engineAtRate(bench: Bench, urls: string[], rate: number): Promise<Measured> {
  const m = await measured(bench, `engine at ${rate}/s (the payments' half rate)`, () =>
    runAtRate(urls, engineSpec, rate, HALF_SECONDS),
  );
  log(`${m.label}: p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}`);
  await bench.quiet();
  return m;
}

/**
 * Runs dist/bench/<name>.js to its end as a sampled process of its own (in `extra` while it runs) and reads the
 * LoadResult it wrote to `resultFile`.
 */
async function runToResult(
  extra: Record<string, ManagedProcess>,
  name: string,
  config: Config,
  env: NodeJS.ProcessEnv,
  resultFile: string,
): Promise<LoadResult> {
  const child = startProcess(name, process.execPath, [path.join(DIST_BENCH, `${name}.js`)], {
    logDir: path.join(config.dataDir, 'logs'),
    env,
  });
  extra[name] = child;
  try {
    const code = await child.exited;
    if (code !== 0) throw new Error(`${name} exited with ${code}: see ${child.logFile}`);
  } finally {
    delete extra[name];
  }
  return JSON.parse(await readFile(resultFile, 'utf8')) as LoadResult;
}

/**
 * The store's own `_id` read rate on the status store as it stands: bench/store-reader.ts in a process of its own,
 * sampled like the stack's, with as many reads in flight as the status scenario has connections, over the same
 * payment records (the status reads' keys).
 */
async function storeReadBaseline(
  bench: Bench,
  extra: Record<string, ManagedProcess>,
  statusConfig: Config,
  merchantId: string,
  stored: StoredPayment[],
  label: string,
): Promise<Measured> {
  const dir = path.join(statusConfig.dataDir, 'store-reader');
  mkdirSync(dir, { recursive: true });
  const keysFile = path.join(dir, 'keys.json');
  const resultFile = path.join(dir, 'result.json');
  writeFileSync(keysFile, JSON.stringify(stored.map((p) => paymentKey('test', merchantId, p.tid))));
  const env = childEnv(statusConfig, {
    BENCH_READER_KEYS: keysFile,
    BENCH_READER_RESULT: resultFile,
    BENCH_READER_CONNECTIONS: String(CONNECTIONS),
    BENCH_READER_SECONDS: String(CLOSED_SECONDS),
  });
  const m = await measured(bench, `store \`_id\` read (driver loop, no HTTP), ${label}`, () =>
    runToResult(extra, 'store-reader', statusConfig, env, resultFile),
  );
  log(
    `${m.label}: ${m.throughput}/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}`,
  );
  await bench.quiet();
  return m;
}

/**
 * A payment's own work with Temporal taken out: bench/payment-work.ts in a process of its own, sampled like the
 * stack's, at `rate` payments per second for as long as the half-rate run, against the stack's FerretDB.
 */
async function paymentWorkBaseline(
  bench: Bench,
  extra: Record<string, ManagedProcess>,
  config: Config,
  merchantId: string,
  rate: number,
): Promise<Measured> {
  const dir = path.join(config.dataDir, 'payment-work');
  mkdirSync(dir, { recursive: true });
  const resultFile = path.join(dir, 'result.json');
  const env = childEnv(config, {
    BENCH_WORK_MERCHANT: merchantId,
    BENCH_WORK_RATE: String(rate),
    BENCH_WORK_SECONDS: String(HALF_SECONDS),
    BENCH_WORK_RESULT: resultFile,
  });
  const m = await measured(bench, `a payment's own work outside Temporal, ${rate}/s`, () =>
    runToResult(extra, 'payment-work', config, env, resultFile),
  );
  log(
    `${m.label}: ${m.completed} payments, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}`,
  );
  await bench.quiet();
  return m;
}

/** Status on a growing store, store and dashboard probes, the auth comparison: FerretDB's side, run once. */
async function statusSections(
  bench: Bench,
  extra: Record<string, ManagedProcess>,
  options: {
    statusConfig: Config;
    statusDb: Db;
    statusKey: string;
    merchant: MerchantDoc;
    baselineUrl: string;
    http: Measured;
  },
): Promise<StatusPart> {
  const { statusConfig, statusDb, merchant, baselineUrl, http } = options;
  const uncachedPort = await freePort();
  const [statusApi, uncached] = await Promise.all([
    startApiProcess(statusConfig, {}, 'api-status'),
    startApiProcess({ ...statusConfig, port: uncachedPort }, { KEY_CACHE_TTL: '1' }, 'api-uncached'),
  ]);
  extra['api-status'] = statusApi;
  extra['api-uncached'] = uncached;
  const statusUrl = `http://${statusConfig.host}:${statusConfig.port}`;
  const uncachedUrl = `http://${statusConfig.host}:${uncachedPort}`;
  log(`status API ${statusUrl}, uncached API ${uncachedUrl}`);

  const stored: StoredPayment[] = [];
  const sizes: BenchResults['status']['sizes'] = [];
  const probes: StoreProbe[] = [];
  const dashboard: DashboardProbe[] = [];
  let auth: { noAuth: Measured; uncached: Measured; bareRead: Measured } | undefined;
  for (const size of STORE_SIZES) {
    const populateMs = await populateTo(statusDb, merchant, stored, size);
    log(`status store holds ${stored.length} payments (inserted in ${populateMs} ms)`);
    const probe = await probeStore(statusDb, merchant._id, stored);
    probes.push(probe);
    log(
      `store probe at ${size}: find by _id ${probe.findByIdMs} ms, update by _id ${probe.updateByIdMs} ms, guarded update ${probe.guardedUpdateMs} ms; plan: ${probe.idReadPlan}`,
    );
    const dashboardProbe = await probeDashboard(statusDb, merchant._id, stored);
    dashboard.push(dashboardProbe);
    log(
      `dashboard queries at ${size} (p50/p95 ms): ` +
        dashboardProbe.queries.map((q) => `${q.name} ${q.p50Ms}/${q.p95Ms}`).join(', '),
    );
    const label = `${size.toLocaleString('en')} stored`;
    const byReference = await closed(
      bench,
      `by Reference, ${label}`,
      statusUrl,
      statusSpec('/v1/status/direct', options.statusKey, stored, 'reference'),
    );
    const byTid = await closed(
      bench,
      `by Tid, ${label}`,
      statusUrl,
      statusSpec('/v1/status/direct', options.statusKey, stored, 'tid'),
    );
    const storeRead = await storeReadBaseline(bench, extra, statusConfig, merchant._id, stored, label);
    sizes.push({ stored: size, populateMs, byReference, byTid, storeRead });
    auth ??= {
      noAuth: await closed(
        bench,
        `by Tid, no auth (baseline /status-noauth), ${label}`,
        baselineUrl,
        statusSpec('/status-noauth', undefined, stored, 'tid'),
      ),
      uncached: await closed(
        bench,
        `by Tid, Argon2id per request (KEY_CACHE_TTL=1), ${label}`,
        uncachedUrl,
        statusSpec('/v1/status/direct', options.statusKey, stored, 'tid'),
      ),
      bareRead: await closed(
        bench,
        `by Tid, bare Koa read (baseline /read), ${label}`,
        baselineUrl,
        statusSpec('/read', undefined, stored, 'tid'),
      ),
    };
  }
  const smallest = sizes[0]!;
  const largest = sizes.at(-1)!;
  const statusCached = {
    ...smallest.byTid,
    label: `by Tid, cached key (API), ${smallest.stored.toLocaleString('en')} stored`,
  };
  const ratios: Ratio[] = [
    ratio(
      `status by Tid / HTTP ceiling, ${smallest.stored.toLocaleString('en')} stored`,
      `${smallest.byTid.throughput}/s`,
      `${http.throughput}/s`,
      smallest.byTid.throughput,
      http.throughput,
      0.5,
      '≥ 0.5',
    ),
    ratio(
      `status by Tid / HTTP ceiling, ${largest.stored.toLocaleString('en')} stored`,
      `${largest.byTid.throughput}/s`,
      `${http.throughput}/s`,
      largest.byTid.throughput,
      http.throughput,
      0.5,
      '≥ 0.5',
    ),
    ratio(
      `status by Reference / HTTP ceiling, ${largest.stored.toLocaleString('en')} stored`,
      `${largest.byReference.throughput}/s`,
      `${http.throughput}/s`,
      largest.byReference.throughput,
      http.throughput,
      0.5,
      '≥ 0.5',
    ),
    ...[smallest, largest].flatMap((size, i) =>
      (i === 0 ? [size.byTid] : [size.byTid, size.byReference]).map((measured) =>
        ratio(
          `status ${measured === size.byTid ? 'by Tid' : 'by Reference'} / the store's own \`_id\` read, ${size.stored.toLocaleString('en')} stored`,
          `${measured.throughput}/s`,
          `${size.storeRead!.throughput}/s`,
          measured.throughput,
          size.storeRead!.throughput,
          0.8,
          '≥ 0.8',
        ),
      ),
    ),
    ratio(
      `status by Tid, ${largest.stored.toLocaleString('en')} vs ${smallest.stored.toLocaleString('en')} stored (flat = 1)`,
      `${largest.byTid.throughput}/s`,
      `${smallest.byTid.throughput}/s`,
      largest.byTid.throughput,
      smallest.byTid.throughput,
      0.9,
      '≥ 0.9',
    ),
    {
      name: `the most status can reach: bare Koa read / the store's own \`_id\` read, ${smallest.stored.toLocaleString('en')} stored`,
      numerator: `${auth!.bareRead.throughput}/s`,
      denominator: `${smallest.storeRead!.throughput}/s`,
      value: Number((auth!.bareRead.throughput / smallest.storeRead!.throughput).toPrecision(3)),
      target: '≥ 0.8, or the status target is out of reach',
      met: auth!.bareRead.throughput >= 0.8 * smallest.storeRead!.throughput,
    },
    ratio(
      'cached auth / no auth',
      `${statusCached.throughput}/s`,
      `${auth!.noAuth.throughput}/s`,
      statusCached.throughput,
      auth!.noAuth.throughput,
      0.9,
      '≥ 0.9',
    ),
    ratio(
      'cached / uncached auth',
      `${statusCached.throughput}/s`,
      `${auth!.uncached.throughput}/s`,
      statusCached.throughput,
      auth!.uncached.throughput,
      1,
      '> 1 (what the cache buys)',
    ),
  ];
  return {
    status: { sizes, connections: CONNECTIONS, probes, dashboard },
    baselines: {
      http,
      statusNoAuth: auth!.noAuth,
      statusCached,
      statusUncached: auth!.uncached,
      bareRead: auth!.bareRead,
    },
    ratios,
  };
}

/**
 * Per profile, the targets of the payment path (BENCHMARKS.md, "Targets"): payments against the engine ceiling,
 * p99 at half the sustainable rate (150 ms on the dev server, 250 ms on the cluster's five processes), the CPU a
 * payment costs against the CPU of the engine's no-op workflow of the same shape, and refunds against the engine.
 */
function paymentRatios(p: ProfileResults): Ratio[] {
  const p99Limit = p.profile === 'dev' ? 150 : 250;
  const ratios: Ratio[] = [
    ratio(
      `${p.profile}: payments / engine ceiling`,
      `${p.payments.sustainableRate}/s`,
      `${p.engine.sustainableRate}/s`,
      p.payments.sustainableRate,
      p.engine.sustainableRate,
      0.8,
      '≥ 0.8',
    ),
    {
      name: `${p.profile}: payments p99 at half the sustainable rate, ms`,
      numerator: `${p.payments.half?.targetRate ?? '—'}/s`,
      denominator: '—',
      value: p.payments.half?.latencyMs.p99 ?? 0,
      target: `≤ ${p99Limit} ms`,
      met: p.payments.half !== undefined && p.payments.half.latencyMs.p99 <= p99Limit,
    },
  ];
  const cpu = cpuAgainstEngine(p.cost);
  if (cpu !== undefined)
    ratios.push({
      name: `${p.profile}: CPU per payment / CPU per engine workflow, every process`,
      numerator: `${p.cost.payments!.totalMs} ms`,
      denominator: `${p.cost.engine!.totalMs} ms`,
      value: cpu,
      target: '≤ 1.2',
      met: cpu <= 1.2,
    });
  const sameRate = { payments: p.cost.payments, engine: p.cost.engineAtPaymentRate, work: p.cost.work };
  const cpuSameRate = cpuAgainstEngine(sameRate);
  if (cpuSameRate !== undefined)
    ratios.push({
      name: `${p.profile}: CPU per payment / CPU per engine workflow, both at ${sameRate.payments!.rate}/s`,
      numerator: `${sameRate.payments!.totalMs} ms`,
      denominator: `${sameRate.engine!.totalMs} ms`,
      value: cpuSameRate,
      target: '≤ 1.2',
      met: cpuSameRate <= 1.2,
    });
  const floor = cpuFloorAgainstEngine(sameRate);
  if (floor !== undefined)
    ratios.push({
      name: `${p.profile}: the least that can be, (engine workflow + a payment's own work outside Temporal) / engine workflow, at ${sameRate.payments!.rate}/s`,
      numerator: `${sameRate.engine!.totalMs} + ${sameRate.work!.totalMs} ms`,
      denominator: `${sameRate.engine!.totalMs} ms`,
      value: floor,
      target: '≤ 1.2, or the CPU target is out of reach',
      met: floor <= 1.2,
    });
  if (p.refunds)
    ratios.push(
      ratio(
        `${p.profile}: refunds / engine ceiling`,
        `${p.refunds.sustainableRate}/s`,
        `${p.engine.sustainableRate}/s`,
        p.refunds.sustainableRate,
        p.engine.sustainableRate,
        1,
        '≥ 1',
      ),
    );
  return ratios;
}

async function main(): Promise<void> {
  const loadAvgBefore = loadAvg();
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const profiles = profilesFromEnv();
  const dataDir = freshDataDir();
  const runTag = Date.now().toString(36);
  const notes: string[] = [];
  log(`profiles ${profiles.join(', ')}; data dir ${path.relative(projectRoot, dataDir)}`);

  const results: ProfileResults[] = [];
  let statusPart: StatusPart | undefined;
  for (const [i, profile] of profiles.entries()) {
    const run = await runProfile({
      profile,
      dataDir: path.join(dataDir, profile),
      runTag,
      notes,
      withStatus: i === 0,
    });
    results.push(run.results);
    statusPart ??= run.statusPart;
  }
  const status = statusPart!;

  const wallSeconds = Math.round((Date.now() - started) / 100) / 10;
  const bench: BenchResults = {
    startedAt,
    wallSeconds,
    command:
      process.env.npm_lifecycle_event === 'bench'
        ? 'npm run bench'
        : `node ${path.relative(projectRoot, process.argv[1] ?? 'dist/bench/run.js')}`,
    commit: gitCommit(),
    machine: machine(loadAvgBefore),
    settings: {
      profiles: profiles.join(','),
      stepSeconds: STEP_SECONDS,
      halfSeconds: HALF_SECONDS,
      closedSeconds: CLOSED_SECONDS,
      idleSeconds: IDLE_SECONDS,
      budgetsS: `engine ${BUDGETS.engine}, payments ${BUDGETS.payments}, refunds ${REFUNDS ? BUDGETS.refunds : 'not run'}`,
      connections: CONNECTIONS,
      observability:
        OBS_SECONDS > 0 && OBS_ROUNDS > 0
          ? `${process.env.BENCH_OBS_PROFILES ?? 'dev'}: ${OBS_ROUNDS} rounds × ${OBS_SECONDS} s${process.env.BENCH_OBS_RATE ? ` at ${process.env.BENCH_OBS_RATE}/s` : ''}`
          : 'not run',
      mongo: process.env.MONGODB_URL ? 'configured' : 'embedded FerretDB (SQLite) per profile',
      SIMULATOR_LATENCY: process.env.SIMULATOR_LATENCY ?? '0',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
    },
    profiles: results,
    statusProfile: results[0]!.profile,
    status: status.status,
    baselines: status.baselines,
    ratios: [...results.flatMap(paymentRatios), ...status.ratios],
    ...(results.length > 1
      ? {
          comparison: comparisonReading(
            { ...results[0]!, cost: results[0]!.cost.payments },
            { ...results[1]!, cost: results[1]!.cost.payments },
          ),
        }
      : {}),
    notes,
  };

  mkdirSync(RESULTS_DIR, { recursive: true });
  const resultsFile = path.join(RESULTS_DIR, `${startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(resultsFile, `${JSON.stringify(bench, null, 2)}\n`);
  const markdown = renderMarkdown(bench);
  if (!process.env.BENCH_SKIP_REPORT) {
    if (!existsSync(BENCHMARKS_FILE)) writeFileSync(BENCHMARKS_FILE, BENCHMARKS_INTRO);
    appendFileSync(BENCHMARKS_FILE, `\n${markdown}\n`);
  }
  console.log(`\n${markdown}\n`);
  log(
    `results: ${path.relative(projectRoot, resultsFile)}${process.env.BENCH_SKIP_REPORT ? '' : ', BENCHMARKS.md'}; wall time ${wallSeconds} s`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(
      err instanceof ConfigError ? err.message : `[bench] failed: ${err instanceof Error ? err.stack : String(err)}`,
    );
    process.exit(1);
  },
);
