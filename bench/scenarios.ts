import { type LoadResult, type RequestSpec, runAtRate, runConnections } from './load';
import type { StoredPayment } from './populate';
import type { Measured, Step, SteppedScenario } from './report';
import { cpuMsOf, type ResourceSampler, type Sampled } from './resources';

/**
 * The bench's scenarios, shared by every stack profile it runs: what each sends and expects, the stepped open
 * model and the closed one, each measured with the resource sampler. The knobs are read from the environment here.
 */

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
export const STEP_SECONDS = num('BENCH_STEP_SECONDS', 10);
export const HALF_SECONDS = num('BENCH_HALF_SECONDS', 30);
export const CLOSED_SECONDS = num('BENCH_CLOSED_SECONDS', 10);
export const CONNECTIONS = num('BENCH_CONNECTIONS', 16);
/** How long each stack is watched with no load, for the CPU its processes use anyway (subtracted per payment). */
export const IDLE_SECONDS = num('BENCH_IDLE_SECONDS', 10);
/** Time budgets of the stepped scenarios; a scale below 1 shortens them for a quick run. */
const BUDGET_SCALE = num('BENCH_BUDGET_SCALE', 1);
export const BUDGETS = {
  engine: Math.round(170 * BUDGET_SCALE),
  payments: Math.round(170 * BUDGET_SCALE),
  refunds: Math.round(150 * BUDGET_SCALE),
};

// Low rungs first: on two cores with SQLite-backed dev servers the ceilings are tens per second, not thousands.
const LADDER = [1, 2, 3, 4, 6, 8, 10, 15, 20, 30, 40, 60, 80, 100, 130, 160, 200, 250, 300, 400];
/** A step whose p99 is above this is past what we call sustainable. */
const P99_LIMIT_MS = 1000;
const WARM_UP_SECONDS = 5;
/** Pause between steps, so a step's trailing work (activities after the answer) does not load the next one. */
export const SETTLE_MS = 3000;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

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
export type MadePayment = Pick<StoredPayment, 'tid' | 'reference'>;

export function paymentSpec(
  key: string,
  runTag: string,
  captured: MadePayment[],
  made: { payments: number },
): RequestSpec {
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

export function refundSpec(key: string, supply: MadePayment[]): RequestSpec {
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

export function statusSpec(
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

export const noopSpec: RequestSpec = {
  path: '/noop',
  body: () => '{}',
  check: (status, body) => expectAnswer(status, body),
};
export const engineSpec: RequestSpec = {
  path: '/engine',
  body: () => '{}',
  check: (status, body) => expectAnswer(status, body, 'captured'),
};

// ── Measuring ───────────────────────────────────────────────────────────────────────────────────────────

export interface Bench {
  sampler: ResourceSampler;
  /** Resolves once the stack is idle again: requests cut off at the end of a run may still be running server-side. */
  quiet(): Promise<void>;
}

export async function measured(bench: Bench, label: string, load: () => Promise<LoadResult>): Promise<Measured> {
  bench.sampler.start();
  const result = await load();
  const { usage, machine } = bench.sampler.stop();
  return { ...result, label, usage, machine };
}

export async function closed(bench: Bench, label: string, baseUrl: string, spec: RequestSpec): Promise<Measured> {
  // A short unmeasured warm-up: JIT, connection pools and caches are hot in production too.
  await runConnections(baseUrl, spec, CONNECTIONS, { seconds: 2 });
  const m = await measured(bench, label, () => runConnections(baseUrl, spec, CONNECTIONS, { seconds: CLOSED_SECONDS }));
  log(`${label}: ${m.throughput}/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}`);
  await bench.quiet();
  return m;
}

export function describeErrors(r: LoadResult): string {
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
 * Several base URLs share each step's arrivals (bench/load.ts).
 */
export async function stepUp(
  bench: Bench,
  name: string,
  baseUrls: string | string[],
  spec: RequestSpec,
  options: {
    budgetS: number;
    beforeStep?: (rate: number, seconds: number) => Promise<boolean>;
    half?: boolean;
    /** An unmeasured run at a low rate first, every base URL served (default true). */
    warmUp?: boolean;
    context?: () => string;
  },
): Promise<SteppedScenario> {
  if (options.warmUp !== false) {
    // JIT, connection pools and caches are hot in production too: the first step should not pay for them. One
    // request a second per base URL, so each API (and the workers behind them) gets its share.
    const urls = typeof baseUrls === 'string' ? [baseUrls] : baseUrls;
    await runAtRate(baseUrls, spec, Math.max(2, urls.length), WARM_UP_SECONDS);
    await sleep(SETTLE_MS);
    await bench.quiet();
  }
  const deadline = Date.now() + options.budgetS * 1000;
  const steps: Step[] = [];
  let endedBy: SteppedScenario['endedBy'] = 'top of the ladder';
  for (const rate of LADDER) {
    if (Date.now() + STEP_SECONDS * 1000 > deadline) {
      log(`${name}: time budget reached before ${rate}/s`);
      endedBy = 'time budget';
      break;
    }
    if (options.beforeStep && !(await options.beforeStep(rate, STEP_SECONDS))) {
      endedBy = 'refused';
      break;
    }
    const label = `${rate}/s${options.context ? `, ${options.context()}` : ''}`;
    const m = await measured(bench, label, () => runAtRate(baseUrls, spec, rate, STEP_SECONDS));
    const step: Step = { ...m, verdict: verdictOf(m) };
    steps.push(step);
    log(
      `${name} ${rate}/s: achieved ${m.achievedRate}/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}, machine ${m.machine?.busyPct}% busy → ${step.verdict}`,
    );
    await sleep(SETTLE_MS);
    await bench.quiet();
    if (step.verdict !== 'ok') {
      endedBy = 'broke';
      break;
    }
  }
  const good = steps.filter((s) => s.verdict === 'ok');
  const sustainableRate = good.at(-1)?.targetRate ?? 0;
  const scenario: SteppedScenario = { steps, sustainableRate, endedBy };
  const halfRate = Math.floor(sustainableRate / 2);
  if (options.half !== false && halfRate >= 1) {
    if (!options.beforeStep || (await options.beforeStep(halfRate, HALF_SECONDS))) {
      const label = `half rate${options.context ? `, ${options.context()}` : ''}`;
      scenario.half = await measured(bench, label, () => runAtRate(baseUrls, spec, halfRate, HALF_SECONDS));
      log(
        `${name} half rate ${halfRate}/s: p50 ${scenario.half.latencyMs.p50} ms, p95 ${scenario.half.latencyMs.p95} ms, p99 ${scenario.half.latencyMs.p99} ms, errors ${describeErrors(scenario.half)}`,
      );
      await sleep(SETTLE_MS);
      await bench.quiet();
    }
  }
  return scenario;
}

/**
 * Waits (at most 30 s) until the given processes together use no more than they do idle plus a quarter of a core,
 * over a second. The cluster's services use some CPU with no load at all (membership, shard and queue upkeep), so
 * the bar is their idle level, measured beforehand.
 */
export async function untilQuiet(sampled: () => Sampled[], idleCpuPct: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  const limitMs = ((idleCpuPct + 25) / 100) * 1000;
  let previous = cpuMsOf(sampled());
  while (Date.now() < deadline) {
    await sleep(1000);
    const now = cpuMsOf(sampled());
    if (now - previous < limitMs) return;
    previous = now;
  }
}
