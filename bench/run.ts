import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import pidusage from 'pidusage';
import { createMerchant } from '../src/auth/accounts';
import { type Config, ConfigError, configToEnv, loadConfig } from '../src/config';
import { projectRoot } from '../src/paths';
import { findMerchant } from '../src/store/merchants';
import { type ManagedProcess, startProcess, waitUntilReady } from '../tools/process';
import { startApiProcess, startStack } from '../tools/stack';
import { type LoadResult, type RequestSpec, runAtRate, runConnections } from './load';
import { populateTo, type StoredPayment } from './populate';
import { type DashboardProbe, probeDashboard, probeStore, type StoreProbe } from './store-probe';
import {
  BENCHMARKS_INTRO,
  type BenchResults,
  type Measured,
  type Ratio,
  renderMarkdown,
  type Step,
  type SteppedScenario,
} from './report';
import { ResourceSampler } from './resources';
import { freePort } from '../tools/ports';
import { removeStaleRunDirs } from '../tools/run-dirs';

/**
 * `npm run bench`: every scenario of the benchmark and its baselines, in one run, on one stack. See BENCHMARKS.md
 * for the method. Knobs (environment): BENCH_STEP_SECONDS (10), BENCH_HALF_SECONDS (30), BENCH_CLOSED_SECONDS
 * (10), BENCH_STORE_SIZES (1000,10000,100000), BENCH_CONNECTIONS (16), BENCH_SKIP_REPORT (set: no BENCHMARKS.md).
 */

const BENCH_ROOT = path.join(projectRoot, '.data', 'bench');
const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');
const BENCHMARKS_FILE = path.join(projectRoot, 'BENCHMARKS.md');
const DIST_BENCH = path.join(projectRoot, 'dist', 'bench');

// Low rungs first: on two cores with SQLite-backed dev servers the ceilings are tens per second, not thousands.
const LADDER = [1, 2, 3, 4, 6, 8, 10, 15, 20, 30, 40, 60, 80, 100, 130, 160, 200, 250, 300, 400];
/** A step whose p99 is above this is past what we call sustainable. */
const P99_LIMIT_MS = 1000;
/** Pause between steps, so a step's trailing work (activities after the answer) does not load the next one. */
const SETTLE_MS = 3000;

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const STEP_SECONDS = num('BENCH_STEP_SECONDS', 10);
const HALF_SECONDS = num('BENCH_HALF_SECONDS', 30);
const CLOSED_SECONDS = num('BENCH_CLOSED_SECONDS', 10);
const CONNECTIONS = num('BENCH_CONNECTIONS', 16);
const STORE_SIZES = (process.env.BENCH_STORE_SIZES ?? '1000,10000,100000').split(',').map(Number);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

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

// ── What each scenario sends and expects ────────────────────────────────────────────────────────────────

function parse(
  body: string,
): { Code?: number; Result?: { Status?: string; Tid?: string; Reference?: string } } | undefined {
  try {
    return JSON.parse(body) as ReturnType<typeof parse>;
  } catch {
    return undefined;
  }
}

/** undefined when the answer is Code 0 with the expected Status, else what it was instead. */
function expectAnswer(status: number, body: string, expectedStatus?: string): string | undefined {
  if (status !== 200) return `HTTP ${status}`;
  const answer = parse(body);
  if (!answer) return 'not JSON';
  if (answer.Code !== 0) return `Code ${answer.Code}`;
  if (expectedStatus && answer.Result?.Status !== expectedStatus) return `Status ${answer.Result?.Status}`;
  return undefined;
}

/** A payment the bench made through the API: what status and refund requests name it by. */
type MadePayment = Pick<StoredPayment, 'tid' | 'reference'>;

function paymentSpec(key: string, runTag: string, captured: MadePayment[], made: { payments: number }): RequestSpec {
  let n = 0;
  const cardYear = String(new Date().getUTCFullYear() + 3);
  return {
    path: '/v1/payment/direct',
    headers: { 'epro-api-key': key },
    body: () =>
      JSON.stringify({
        Amount: '1234',
        Uid: 'customer-42',
        Tid: `bench-${runTag}-${n++}`,
        Email: 'jane@example.com',
        CardNumber: '4111111111111111',
        CardMonth: '12',
        CardYear: cardYear,
        CardCVV: '123',
      }),
    check: (status, body) => {
      made.payments++;
      const problem = expectAnswer(status, body, 'captured');
      const result = parse(body)?.Result;
      if (problem === undefined && result?.Tid && result.Reference)
        captured.push({ tid: result.Tid, reference: result.Reference });
      return problem;
    },
  };
}

function refundSpec(key: string, supply: MadePayment[]): RequestSpec {
  return {
    path: '/v1/refund/direct',
    headers: { 'epro-api-key': key },
    body: () => {
      const next = supply.shift();
      if (!next) throw new Error('out of captured payments to refund');
      return JSON.stringify({ Tid: next.tid });
    },
    check: (status, body) => expectAnswer(status, body, 'captured'),
  };
}

function statusSpec(
  pathName: string,
  key: string | undefined,
  stored: StoredPayment[],
  by: 'tid' | 'reference',
): RequestSpec {
  return {
    path: pathName,
    headers: key ? { 'epro-api-key': key } : {},
    body: () => {
      const pick = stored[Math.floor(Math.random() * stored.length)]!;
      return JSON.stringify(by === 'tid' ? { Tid: pick.tid } : { Reference: pick.reference });
    },
    check: (status, body) => expectAnswer(status, body),
  };
}

const noopSpec: RequestSpec = { path: '/noop', body: () => '{}', check: (status, body) => expectAnswer(status, body) };
const engineSpec: RequestSpec = {
  path: '/engine',
  body: () => '{}',
  check: (status, body) => expectAnswer(status, body, 'captured'),
};

// ── The run ─────────────────────────────────────────────────────────────────────────────────────────────

interface Bench {
  sampler: ResourceSampler;
  /** Resolves once the stack is idle again: requests cut off at the end of a run may still be running server-side. */
  quiet(): Promise<void>;
}

async function measured(bench: Bench, label: string, load: () => Promise<LoadResult>): Promise<Measured> {
  bench.sampler.start();
  const result = await load();
  const usage = await bench.sampler.stop();
  return { ...result, label, usage };
}

async function closed(bench: Bench, label: string, baseUrl: string, spec: RequestSpec): Promise<Measured> {
  // A short unmeasured warm-up: JIT, connection pools and caches are hot in production too.
  await runConnections(baseUrl, spec, CONNECTIONS, { seconds: 2 });
  const m = await measured(bench, label, () => runConnections(baseUrl, spec, CONNECTIONS, { seconds: CLOSED_SECONDS }));
  log(`${label}: ${m.throughput}/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}`);
  await bench.quiet();
  return m;
}

function describeErrors(r: LoadResult): string {
  return r.errors === 0
    ? '0'
    : `${r.errors} (${Object.entries(r.errorKinds)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')})`;
}

function verdictOf(r: LoadResult): Step['verdict'] {
  if (r.errors > 0) return 'errors';
  if (r.achievedRate < 0.95 * r.targetRate!) return 'achieved < 95%';
  if (r.latencyMs.p99 > P99_LIMIT_MS) return 'p99 > 1 s';
  return 'ok';
}

/**
 * Steps the arrival rate up the ladder until a step breaks, then measures latency at half the last good rate.
 * `beforeStep` may refuse a step (returns false), e.g. when refunds would run out of payments to refund.
 */
async function stepUp(
  bench: Bench,
  name: string,
  baseUrl: string,
  spec: RequestSpec,
  options: {
    budgetS: number;
    beforeStep?: (rate: number, seconds: number) => Promise<boolean>;
    half?: boolean;
    context?: () => string;
  },
): Promise<SteppedScenario> {
  const deadline = Date.now() + options.budgetS * 1000;
  const steps: Step[] = [];
  for (const rate of LADDER) {
    if (Date.now() + STEP_SECONDS * 1000 > deadline) {
      log(`${name}: time budget reached before ${rate}/s`);
      break;
    }
    if (options.beforeStep && !(await options.beforeStep(rate, STEP_SECONDS))) break;
    const label = `${rate}/s${options.context ? `, ${options.context()}` : ''}`;
    const m = await measured(bench, label, () => runAtRate(baseUrl, spec, rate, STEP_SECONDS));
    const step: Step = { ...m, verdict: verdictOf(m) };
    steps.push(step);
    log(
      `${name} ${rate}/s: achieved ${m.achievedRate}/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)} → ${step.verdict}`,
    );
    await sleep(SETTLE_MS);
    await bench.quiet();
    if (step.verdict !== 'ok') break;
  }
  const good = steps.filter((s) => s.verdict === 'ok');
  const sustainableRate = good.at(-1)?.targetRate ?? 0;
  const scenario: SteppedScenario = { steps, sustainableRate };
  const halfRate = Math.floor(sustainableRate / 2);
  if (options.half !== false && halfRate >= 1) {
    if (!options.beforeStep || (await options.beforeStep(halfRate, HALF_SECONDS))) {
      const label = `half rate${options.context ? `, ${options.context()}` : ''}`;
      scenario.half = await measured(bench, label, () => runAtRate(baseUrl, spec, halfRate, HALF_SECONDS));
      log(
        `${name} half rate ${halfRate}/s: p50 ${scenario.half.latencyMs.p50} ms, p95 ${scenario.half.latencyMs.p95} ms, p99 ${scenario.half.latencyMs.p99} ms, errors ${describeErrors(scenario.half)}`,
      );
      await sleep(SETTLE_MS);
    }
  }
  return scenario;
}

async function startBaselines(
  config: Config,
  statusConfig: Config,
  merchantId: string,
): Promise<{ baseline: ManagedProcess; engineWorker: ManagedProcess; baselineUrl: string }> {
  const logDir = path.join(config.dataDir, 'logs');
  const port = await freePort();
  // The no-auth status baseline reads the status scenario's database, as the API it is compared with does.
  const env = {
    ...process.env,
    ...configToEnv(statusConfig),
    BENCH_MERCHANT_ID: merchantId,
    BENCH_BASELINE_PORT: String(port),
  };
  const engineWorker = startProcess(
    'bench-engine-worker',
    process.execPath,
    [path.join(DIST_BENCH, 'engine-worker.js')],
    { logDir, env },
  );
  const baseline = startProcess('bench-baseline', process.execPath, [path.join(DIST_BENCH, 'baseline-server.js')], {
    logDir,
    env,
  });
  const baselineUrl = `http://${config.host}:${port}`;
  await Promise.all([
    waitUntilReady(engineWorker, 'bench engine worker', () =>
      readFile(engineWorker.logFile, 'utf8').then((text) => text.includes('bench-engine-worker ready')),
    ),
    waitUntilReady(
      baseline,
      'bench baseline server',
      async () => (await fetch(`${baselineUrl}/noop`, { method: 'POST' })).status === 200,
    ),
  ]);
  return { baseline, engineWorker, baselineUrl };
}

/** Waits (at most 30 s) until the given processes together use under 25% of a core over a second. */
async function untilQuiet(pids: () => (number | undefined)[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  const ctime = async () => {
    const list = pids().filter((p): p is number => p !== undefined);
    if (list.length === 0) return 0;
    try {
      return Object.values(await pidusage(list)).reduce((sum, s) => sum + s.ctime, 0);
    } catch {
      return 0; // a process went away: nothing left to wait for
    }
  };
  let previous = await ctime();
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = await ctime();
    if (now - previous < 250) return;
    previous = now;
  }
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

async function main(): Promise<void> {
  const loadAvgBefore = loadAvg();
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const dataDir = freshDataDir();
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const [apiPort, statusPort, uncachedPort, temporalPort, uiPort, ferretPort] = ports;
  const config = loadConfig({
    ...process.env,
    PORT: String(apiPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    FERRETDB_PORT: String(ferretPort),
    DATA_DIR: dataDir,
    MONGODB_DB: process.env.BENCH_MONGODB_DB ?? 'settleflow_bench',
    // One key drives each scenario far past the default request limit; the limiter still counts every request.
    RATE_LIMIT_PER_MINUTE: process.env.RATE_LIMIT_PER_MINUTE ?? '1000000000',
  });
  // The status scenario fills a database of its own with 100k payments: the payment, refund and engine scenarios
  // must not pay for that store (FerretDB scans whole collections on some of their writes; see BENCHMARKS.md).
  const statusConfig: Config = {
    ...config,
    port: statusPort,
    mongo: { ...config.mongo, dbName: `${config.mongo.dbName}_status` },
  };
  log(
    `data dir ${path.relative(projectRoot, dataDir)}; Temporal ${config.temporal.embedded ? 'embedded' : 'configured'}, MongoDB ${config.mongo.embedded ? 'embedded (FerretDB)' : 'configured'}`,
  );

  const stack = await startStack(config, { log });
  const extra: Record<string, ManagedProcess> = {};
  const mongo = new MongoClient(config.mongo.url, { retryWrites: false });
  try {
    const db = mongo.db(config.mongo.dbName);
    const statusDb = mongo.db(statusConfig.mongo.dbName);
    // A configured MongoDB keeps the bench databases between runs: every run starts from empty ones.
    if (!config.mongo.embedded) await Promise.all([db.dropDatabase(), statusDb.dropDatabase()]);
    const payer = await createMerchant(db, config, { name: 'Bench shop' });
    const statusMerchant = await createMerchant(statusDb, statusConfig, { name: 'Bench status shop' });
    const merchant = (await findMerchant(statusDb, statusMerchant.merchantId))!;

    const [statusApi, uncached, baselines] = await Promise.all([
      startApiProcess(statusConfig, {}, 'api-status'),
      startApiProcess({ ...statusConfig, port: uncachedPort }, { KEY_CACHE_TTL: '1' }, 'api-uncached'),
      startBaselines(config, statusConfig, merchant._id),
    ]);
    extra['api-status'] = statusApi;
    extra['api-uncached'] = uncached;
    extra.baseline = baselines.baseline;
    extra['engine-worker'] = baselines.engineWorker;
    const statusUrl = `http://${config.host}:${statusPort}`;
    const uncachedUrl = `http://${config.host}:${uncachedPort}`;
    const baselineUrl = baselines.baselineUrl;
    log(
      `stack up in ${((Date.now() - started) / 1000).toFixed(1)} s: API ${stack.apiUrl}, status API ${statusUrl}, uncached API ${uncachedUrl}, baselines ${baselineUrl}`,
    );

    const sampler = new ResourceSampler(() => ({
      api: stack.api?.child.pid,
      worker: stack.worker?.child.pid,
      temporal: stack.temporal?.child.pid,
      ferretdb: stack.ferretdb?.child.pid,
      'api-status': extra['api-status']?.child.pid,
      'api-uncached': extra['api-uncached']?.child.pid,
      baseline: extra.baseline?.child.pid,
      'engine-worker': extra['engine-worker']?.child.pid,
      load: process.pid,
    }));
    const bench: Bench = {
      sampler,
      quiet: () => untilQuiet(() => [stack.ferretdb?.child.pid, stack.temporal?.child.pid, stack.worker?.child.pid]),
    };
    const runTag = Date.now().toString(36);
    const notes: string[] = [];

    // ── 4a. HTTP ceiling ──
    log('baseline: HTTP ceiling (bare Koa)');
    const http = await closed(bench, 'HTTP ceiling: bare Koa /noop', baselineUrl, noopSpec);

    // ── 4b. Engine ceiling ──
    log('baseline: engine ceiling (no-op workflow, update-with-start)');
    const engine = await stepUp(bench, 'engine', baselineUrl, engineSpec, { budgetS: 170 });

    // ── 1. Payments ──
    log('payments: open model, stepped');
    const captured: MadePayment[] = [];
    // The payment store grows through the run, and FerretDB's cost per payment with it: each step says how large.
    const made = { payments: 0 };
    const storeSize = () => `${made.payments.toLocaleString('en')} payments stored`;
    const payments = await stepUp(bench, 'payments', stack.apiUrl, paymentSpec(payer.testKey, runTag, captured, made), {
      budgetS: 170,
      context: storeSize,
    });

    // ── 3. Refunds, on the payments just captured (and more made first if a step would run out) ──
    log(`refunds: ${captured.length} captured payments available`);
    let precreated = 0;
    const precreateSpec = paymentSpec(payer.testKey, `${runTag}r`, captured, made);
    const refunds = await stepUp(bench, 'refunds', stack.apiUrl, refundSpec(payer.testKey, captured), {
      budgetS: 150,
      half: false,
      context: storeSize,
      beforeStep: async (rate, seconds) => {
        const needed = rate * seconds - captured.length;
        if (needed <= 0) return true;
        // Never more than a few seconds' worth at the payment rate found above: the refund step is what we time.
        if (needed > Math.max(payments.sustainableRate, 5) * 30) {
          notes.push(`Refund stepping stopped before ${rate}/s: it would need ${needed} more captured payments first.`);
          return false;
        }
        log(`refunds: making ${needed} captured payments first`);
        const before = captured.length;
        await runConnections(stack.apiUrl, precreateSpec, Math.min(CONNECTIONS, needed), { amount: needed });
        precreated += captured.length - before;
        await sleep(SETTLE_MS);
        return captured.length >= rate * seconds;
      },
    });

    // ── 2. Status on a growing store; the auth comparison on the smallest, where auth is the largest share ──
    const stored: StoredPayment[] = [];
    const sizes: BenchResults['status']['sizes'] = [];
    const probes: StoreProbe[] = [];
    const dashboard: DashboardProbe[] = [];
    let auth: { noAuth: Measured; uncached: Measured } | undefined;
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
        statusSpec('/v1/status/direct', statusMerchant.testKey, stored, 'reference'),
      );
      const byTid = await closed(
        bench,
        `by Tid, ${label}`,
        statusUrl,
        statusSpec('/v1/status/direct', statusMerchant.testKey, stored, 'tid'),
      );
      sizes.push({ stored: size, populateMs, byReference, byTid });
      if (!auth) {
        auth = {
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
            statusSpec('/v1/status/direct', statusMerchant.testKey, stored, 'tid'),
          ),
        };
      }
    }
    const smallest = sizes[0]!;
    const largest = sizes.at(-1)!;
    const statusCached = {
      ...smallest.byTid,
      label: `by Tid, cached key (API), ${smallest.stored.toLocaleString('en')} stored`,
    };

    const wallSeconds = Math.round((Date.now() - started) / 100) / 10;
    const ratios: Ratio[] = [
      ratio(
        'payments / engine ceiling',
        `${payments.sustainableRate}/s`,
        `${engine.sustainableRate}/s`,
        payments.sustainableRate,
        engine.sustainableRate,
        0.6,
        '≥ 0.6',
      ),
      {
        name: 'payments p99 at half the sustainable rate, ms',
        numerator: `${payments.half?.targetRate ?? '—'}/s`,
        denominator: '—',
        value: payments.half?.latencyMs.p99 ?? 0,
        target: '≤ 250 ms',
        met: payments.half !== undefined && payments.half.latencyMs.p99 <= 250,
      },
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
      ratio(
        `status by Tid, ${largest.stored.toLocaleString('en')} vs ${smallest.stored.toLocaleString('en')} stored (flat = 1)`,
        `${largest.byTid.throughput}/s`,
        `${smallest.byTid.throughput}/s`,
        largest.byTid.throughput,
        smallest.byTid.throughput,
        0.9,
        '≥ 0.9',
      ),
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

    const results: BenchResults = {
      startedAt,
      wallSeconds,
      command:
        process.env.npm_lifecycle_event === 'bench'
          ? 'npm run bench'
          : `node ${path.relative(projectRoot, process.argv[1] ?? 'dist/bench/run.js')}`,
      commit: gitCommit(),
      machine: machine(loadAvgBefore),
      settings: {
        stepSeconds: STEP_SECONDS,
        halfSeconds: HALF_SECONDS,
        closedSeconds: CLOSED_SECONDS,
        connections: CONNECTIONS,
        temporal: config.temporal.embedded ? 'embedded dev server (SQLite)' : 'configured',
        mongo: config.mongo.embedded ? 'embedded FerretDB (SQLite)' : 'configured',
        SIMULATOR_LATENCY: config.simulatorLatencyMs,
        LOG_LEVEL: config.logLevel,
      },
      payments,
      status: { sizes, connections: CONNECTIONS, probes, dashboard },
      refunds: { ...refunds, precreated },
      baselines: { http, engine, statusNoAuth: auth!.noAuth, statusCached, statusUncached: auth!.uncached },
      ratios,
      notes,
    };

    mkdirSync(RESULTS_DIR, { recursive: true });
    const resultsFile = path.join(RESULTS_DIR, `${startedAt.replace(/[:.]/g, '-')}.json`);
    writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
    const markdown = renderMarkdown(results);
    if (!process.env.BENCH_SKIP_REPORT) {
      if (!existsSync(BENCHMARKS_FILE)) writeFileSync(BENCHMARKS_FILE, BENCHMARKS_INTRO);
      appendFileSync(BENCHMARKS_FILE, `\n${markdown}\n`);
    }
    console.log(`\n${markdown}\n`);
    log(
      `results: ${path.relative(projectRoot, resultsFile)}${process.env.BENCH_SKIP_REPORT ? '' : ', BENCHMARKS.md'}; wall time ${wallSeconds} s`,
    );
  } finally {
    await mongo.close().catch(() => undefined);
    await Promise.all(Object.values(extra).map((p) => p.stop()));
    await stack.stop();
  }
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
