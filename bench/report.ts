import type { LoadResult } from './load';
import type { Cost, ObsConfigName, ObsCost, Sizing } from './reading';
import { cpuAgainstEngine, cpuFloorAgainstEngine, limitStep, processOrder, roleOf, signed } from './reading';
import type { MachineUsage, ProcessUsage } from './resources';
import { MAX_EXAMINED } from '../src/store/payment-listing';
import type { DashboardProbe, StoreProbe } from './store-probe';

/** Everything one `npm run bench` measured: written as JSON, rendered as the BENCHMARKS.md section. */
export interface Measured extends LoadResult {
  label: string;
  usage: Record<string, ProcessUsage>;
  /** The whole machine over the same window (runs recorded before it was sampled have none). */
  machine?: MachineUsage;
}

export interface Step extends Measured {
  verdict: 'ok' | 'p99 > 1 s' | 'errors' | 'achieved < 95%';
}

export interface SteppedScenario {
  steps: Step[];
  /** The highest step with p99 ≤ 1 s, no errors and ≥ 95% of the target rate sent on time. */
  sustainableRate: number;
  /** The latency run at half the sustainable rate. */
  half?: Measured;
  /** Why the ladder stopped: a step broke, the time budget ran out, `beforeStep` refused, or the ladder ended. */
  endedBy?: 'broke' | 'time budget' | 'refused' | 'top of the ladder';
}

export interface StoreSize {
  stored: number;
  populateMs: number;
  byReference: Measured;
  byTid: Measured;
  /** The store's own `_id` read rate at this size: a bare driver loop (bench/store-reader.ts); older runs lack it. */
  storeRead?: Measured;
}

export interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
  value: number;
  target: string;
  met: boolean;
}

/** The payment-path scenarios on one stack profile, and what they say. */
export interface ProfileResults {
  profile: string;
  /** What Temporal was: the dev server, the cluster's processes, or a configured server. */
  temporal: string;
  /** As the frontend reports it (GetClusterInfo). */
  historyShards: number;
  /** SettleFlow workers and APIs, each; the engine baseline runs as many engine workers and baseline servers. */
  replicas: number;
  startSeconds: number;
  /** Every sampled process with no load, before the scenarios: subtracted from the CPU per request. */
  idle: { seconds: number; usage: Record<string, ProcessUsage> };
  engine: SteppedScenario;
  payments: SteppedScenario;
  refunds?: SteppedScenario & { precreated: number };
  /**
   * `work`: a payment's own work with Temporal taken out (bench/payment-work.ts), and `engineAtPaymentRate`: the
   * engine's workflow, both at the payments' half rate; older runs lack them.
   */
  cost: { payments?: Cost; engine?: Cost; work?: Cost; engineAtPaymentRate?: Cost };
  /** The run `cost.work` comes from. */
  work?: Measured;
  /** What limited each scenario, computed from the figures (bench/reading.ts). */
  limits: { payments: string; engine: string };
  sizing: Sizing;
  /** Metrics and tracing off and on at one payment rate, in interleaved rounds (when run on this profile). */
  observability?: ObservabilityResults;
}

/** One measured window of the observability-cost section, and what was checked in it. */
export interface ObsWindow extends Measured {
  config: ObsConfigName;
  round: number;
  /** Scrapes of every metrics listener during the window that answered with SettleFlow's (or the SDK's) metrics. */
  metricsScrapes: number;
  /** Payments of the window whose trace Jaeger holds (the API's span), and of those the ones with worker spans. */
  traced: number;
  tracedWithWorker: number;
}

export interface ObservabilityResults {
  /** Payments per second, open model, the same for every window. */
  rate: number;
  /** How the rate was chosen: half the profile's sustainable payments rate, or BENCH_OBS_RATE. */
  rateFrom: string;
  seconds: number;
  rounds: number;
  scrapeIntervalS: number;
  costs: ObsCost[];
  windows: ObsWindow[];
  /** Computed from the costs (bench/reading.ts, obsReading). */
  reading: string;
}

export interface BenchResults {
  startedAt: string;
  wallSeconds: number;
  command: string;
  commit: string;
  machine: {
    cpus: number;
    cpuModel: string;
    ramGb: number;
    node: string;
    os: string;
    loadAvgBefore: number[];
    loadAvgAfter: number[];
  };
  settings: Record<string, string | number | boolean>;
  /** The payment path on each stack profile, in the order run. */
  profiles: ProfileResults[];
  /** The profile whose stack ran the sections that do not depend on Temporal (status, store, HTTP ceiling). */
  statusProfile: string;
  status: { sizes: StoreSize[]; connections: number; probes: StoreProbe[]; dashboard?: DashboardProbe[] };
  baselines: {
    http: Measured;
    statusNoAuth: Measured;
    statusCached: Measured;
    statusUncached: Measured;
    /** A bare Koa route reading the record by Tid, no chain around it (`POST /read`); older runs lack it. */
    bareRead?: Measured;
  };
  ratios: Ratio[];
  /** The second profile against the first, when two ran. */
  comparison?: string;
  notes: string[];
}

/** Short names of the bench's own processes in the CPU columns; the stack's processes go by their key. */
const SHORT: Record<string, string> = {
  'api-status': 'api (status)',
  'api-uncached': 'api (uncached)',
  'engine-worker': 'engine wkr',
  load: 'load tool',
};
const short = (key: string) => SHORT[key] ?? key.replace(/^engine-worker-/, 'engine wkr-');

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
/** Ratios far below 1 keep two significant digits, so 0.004 does not read as 0. */
const fmtRatio = (n: number) => (n === 0 || n >= 0.1 ? n.toFixed(2) : n.toPrecision(2));
const orDash = (n: number | undefined, unit = '') => (n === undefined ? '—' : `${fmt(n)}${unit}`);

/**
 * "api 45/80 · worker 120/150 …": average/peak CPU % of the processes that did anything. The load tool only when it
 * averages 10% or more of a core, where it could be what limits a step.
 */
function cpuCell(usage: Record<string, ProcessUsage>): string {
  return processOrder(Object.keys(usage))
    .filter((key) => active(usage[key]) && (key !== 'load' || usage[key]!.avgCpu >= 10))
    .map((key) => `${short(key)} ${usage[key]!.avgCpu}/${usage[key]!.peakCpu}`)
    .join(' · ');
}

const active = (u: ProcessUsage | undefined) => u !== undefined && (u.avgCpu >= 2 || u.peakCpu >= 10);

function errorCell(m: LoadResult): string {
  if (m.errors === 0) return '0';
  const kinds = Object.entries(m.errorKinds)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  return `${m.errors} (${kinds})`;
}

/**
 * Peak RSS per process over a whole scenario: one line instead of a column per step (the per-step figures are in
 * the JSON), which keeps BENCHMARKS.md readable. A process tree (PostgreSQL) counts its shared memory in each process.
 */
function peakRss(rows: Measured[], only?: (key: string) => boolean): string {
  const keys = processOrder([...new Set(rows.flatMap((m) => Object.keys(m.usage)))]).filter(
    (key) => key !== 'load' && (only?.(key) ?? true) && rows.some((m) => active(m.usage[key])),
  );
  const peak = (key: string) => Math.max(0, ...rows.map((m) => m.usage[key]?.peakRssMb ?? 0));
  return `Peak RSS over the scenario: ${keys.map((key) => `${short(key)} ${peak(key)} MB`).join(' · ')}.`;
}

function openTable(rows: Measured[], verdicts: (string | undefined)[]): string[] {
  const lines = [
    '| run | target /s | achieved /s | done /s | p50 ms | p95 ms | p99 ms | max ms | errors | verdict | machine busy | CPU % avg/peak |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---|',
  ];
  rows.forEach((m, i) => {
    lines.push(
      `| ${m.label} | ${m.targetRate ?? '—'} | ${fmt(m.achievedRate)} | ${fmt(m.throughput)} | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p95)} | ` +
        `${fmt(m.latencyMs.p99)} | ${fmt(m.latencyMs.max)} | ${errorCell(m)} | ${verdicts[i] ?? ''} | ${orDash(m.machine?.busyPct, '%')} | ${cpuCell(m.usage)} |`,
    );
  });
  return lines;
}

function closedTable(rows: Measured[]): string[] {
  const lines = [
    '| run | connections | req/s | p50 ms | p95 ms | p99 ms | max ms | errors | CPU % avg/peak |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const m of rows) {
    lines.push(
      `| ${m.label} | ${m.connections} | ${fmt(m.throughput)} | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p95)} | ${fmt(m.latencyMs.p99)} | ` +
        `${fmt(m.latencyMs.max)} | ${errorCell(m)} | ${cpuCell(m.usage)} |`,
    );
  }
  return lines;
}

/** The store probes; a query plan that is the same at every size is printed once, under the table. */
function probeTable(probes: StoreProbe[]): string[] {
  const plans = new Set(probes.map((p) => p.idReadPlan));
  const samePlan = plans.size === 1;
  const lines = [
    `| stored | find by \`_id\` | update by \`_id\` | guarded update |${samePlan ? '' : ' plan of `find({_id})` |'}`,
    `|---:|---:|---:|---:|${samePlan ? '' : '---|'}`,
    ...probes.map(
      (p) =>
        `| ${p.stored.toLocaleString('en')} | ${fmt(p.findByIdMs)} | ${fmt(p.updateByIdMs)} | ${p.guardedUpdateMs === null ? 'not timed' : fmt(p.guardedUpdateMs)} |` +
        (samePlan ? '' : ` \`${p.idReadPlan}\` |`),
    ),
  ];
  if (samePlan) lines.push('', `Plan of \`find({_id})\` at every size: \`${[...plans][0]}\`.`);
  return lines;
}

/** The p95 target of the dashboard's lists and searches (issue 16), at 100,000 payments stored. */
export const DASHBOARD_P95_TARGET_MS = 200;

/**
 * The dashboard's queries at each store size (p50 / p95 ms), then their plans at the largest size: a query's plan
 * is the same at every size when it reads through the `_id` index.
 */
export function dashboardSection(probes: DashboardProbe[]): string[] {
  if (probes.length === 0) return [];
  const names = probes[0]!.queries.map((q) => q.name);
  const largest = probes[probes.length - 1]!;
  const worst = Math.max(...largest.queries.filter((q) => q.target).map((q) => q.p95Ms));
  const walks = largest.queries.filter((q) => !q.target);
  return [
    `| query | ${probes.map((p) => `${p.stored.toLocaleString('en')} stored`).join(' | ')} |`,
    `|---|${probes.map(() => '---:|').join('')}`,
    ...names.map(
      (name) =>
        `| ${name} | ${probes
          .map((p) => {
            const q = p.queries.find((x) => x.name === name);
            return q ? `${fmt(q.p50Ms)} / ${fmt(q.p95Ms)}` : '—';
          })
          .join(' | ')} |`,
    ),
    '',
    `p50 / p95 ms over 40 calls each. Worst p95 of the first page and the Tid, Reference and Uid searches at ` +
      `${largest.stored.toLocaleString('en')} stored: ${fmt(worst)} ms (target ≤ ${DASHBOARD_P95_TARGET_MS} ms: ` +
      `${worst <= DASHBOARD_P95_TARGET_MS ? 'met' : '**not met**'}); the other rows (` +
      `${walks.map((q) => q.name).join('; ')}) have no target of their own: a filtered list examines at most ${MAX_EXAMINED} ` +
      'listing documents per request, whatever the store size.',
    '',
    `Plans at ${largest.stored.toLocaleString('en')} stored (FerretDB: SQLite's EXPLAIN QUERY PLAN, and its pushdown flags):`,
    '',
    ...largest.plans.map((p) => `- ${p.query}: \`${p.plan}\``),
  ];
}

function stepped(title: string, s: SteppedScenario, seconds: string, rssOf?: (key: string) => boolean): string[] {
  const rows: Measured[] = [...s.steps, ...(s.half ? [s.half] : [])];
  const verdicts = [...s.steps.map((step) => step.verdict), ...(s.half ? [`latency run, ${s.half.durationS} s`] : [])];
  return [
    `#### ${title}`,
    '',
    `Open model, ${seconds} per step; sustainable rate **${s.sustainableRate}/s**` +
      (s.half
        ? `; at half of it (${s.half.targetRate}/s): p50 ${fmt(s.half.latencyMs.p50)} ms, p95 ${fmt(s.half.latencyMs.p95)} ms, **p99 ${fmt(s.half.latencyMs.p99)} ms**.`
        : '.'),
    '',
    ...openTable(rows, verdicts),
    '',
    peakRss(rows, rssOf),
    '',
  ];
}

/** The headline figures of every profile, one column each. */
function sideBySide(profiles: ProfileResults[]): string[] {
  const row = (name: string, cell: (p: ProfileResults) => string) => `| ${name} | ${profiles.map(cell).join(' | ')} |`;
  const halfCell = (s: SteppedScenario) =>
    s.half
      ? `${fmt(s.half.latencyMs.p50)} / ${fmt(s.half.latencyMs.p95)} / **${fmt(s.half.latencyMs.p99)}** at ${s.half.targetRate}/s`
      : '—';
  const idleOf = (p: ProfileResults) =>
    Object.entries(p.idle.usage)
      .filter(([key]) => !roleOf(key)?.bench)
      .reduce((sum, [, u]) => sum + u.avgCpu, 0);
  const limitMachine = (s: SteppedScenario) => {
    const step = limitStep(s);
    return step?.machine ? `${fmt(step.machine.busyPct)}% at ${step.targetRate}/s` : '—';
  };
  return [
    `| | ${profiles.map((p) => p.profile).join(' | ')} |`,
    `|---|${profiles.map(() => '---:|').join('')}`,
    row('Temporal', (p) => p.temporal),
    row('history shards', (p) => String(p.historyShards)),
    row('SettleFlow workers / APIs', (p) => `${p.replicas} / ${p.replicas}`),
    row('stack start, s', (p) => fmt(p.startSeconds)),
    row('stack idle, % of a core (every stack process)', (p) => fmt(idleOf(p))),
    row('**engine ceiling** (sustainable)', (p) => `**${p.engine.sustainableRate}/s**`),
    row('engine at half rate: p50 / p95 / p99 ms', (p) => halfCell(p.engine)),
    row('**payments** (sustainable)', (p) => `**${p.payments.sustainableRate}/s**`),
    row('payments / engine ceiling', (p) =>
      p.engine.sustainableRate > 0 ? fmtRatio(p.payments.sustainableRate / p.engine.sustainableRate) : '—',
    ),
    row('payments at half rate: p50 / p95 / p99 ms', (p) => halfCell(p.payments)),
    row('refunds (sustainable)', (p) => (p.refunds ? `${p.refunds.sustainableRate}/s` : 'not run')),
    row('CPU per payment, every process, ms (net of idle)', (p) => orDash(p.cost.payments?.totalMs)),
    row('CPU per engine workflow, every process, ms', (p) => orDash(p.cost.engine?.totalMs)),
    row('CPU per payment / per engine workflow (target ≤ 1.2)', (p) => {
      const cpu = cpuAgainstEngine(p.cost);
      return cpu === undefined ? '—' : `×${cpu}`;
    }),
    row("CPU per engine workflow at the payments' half rate, ms", (p) => orDash(p.cost.engineAtPaymentRate?.totalMs)),
    row("CPU per payment / per engine workflow, both at the payments' half rate", (p) => {
      const cpu = cpuAgainstEngine({ payments: p.cost.payments, engine: p.cost.engineAtPaymentRate });
      return cpu === undefined ? '—' : `×${cpu}`;
    }),
    row("CPU of a payment's own work outside Temporal at that rate, ms (bench/payment-work.ts)", (p) =>
      orDash(p.cost.work?.totalMs),
    ),
    row('the least that ratio can be: (engine workflow + that work) / engine workflow', (p) => {
      const floor = cpuFloorAgainstEngine({ engine: p.cost.engineAtPaymentRate, work: p.cost.work });
      return floor === undefined ? '—' : `×${floor}`;
    }),
    row('machine busy at the payments limit step', (p) => limitMachine(p.payments)),
    row('machine busy at the engine limit step', (p) => limitMachine(p.engine)),
  ];
}

/** payments/s per history shard and per core of each role, one column per profile. */
function sizingTable(profiles: ProfileResults[]): string[] {
  const row = (name: string, cell: (z: ProfileResults['sizing']) => string) =>
    `| ${name} | ${profiles.map((p) => cell(p.sizing)).join(' | ')} |`;
  return [
    `| | ${profiles.map((p) => p.profile).join(' | ')} |`,
    `|---|${profiles.map(() => '---:|').join('')}`,
    row('payments/s per history shard (sustainable / shards)', (z) => String(z.paymentsPerShard)),
    row('engine workflows/s per history shard', (z) => String(z.enginePerShard)),
    row('history hosts: CPU ms per payment', (z) =>
      z.historyMsPerPayment === undefined ? '— (one process runs every service)' : fmt(z.historyMsPerPayment),
    ),
    row('payments/s per history core', (z) => orDash(z.paymentsPerHistoryCore)),
    row('every Temporal process: CPU ms per payment', (z) => fmt(z.temporalMsPerPayment)),
    row('SettleFlow workers: CPU ms per payment', (z) => fmt(z.workerMsPerPayment)),
    row('**payments/s per worker core**', (z) => `**${orDash(z.paymentsPerWorkerCore)}**`),
    row('SettleFlow APIs: CPU ms per payment', (z) => fmt(z.apiMsPerPayment)),
    row('payments/s per API core', (z) => orDash(z.paymentsPerApiCore)),
  ];
}

/** One profile's processes: idle CPU, CPU per payment and per engine workflow, and their load at the payments limit. */
function costTable(p: ProfileResults): string[] {
  const pay = p.cost.payments;
  const engine = p.cost.engine;
  const limit = limitStep(p.payments);
  const keys = processOrder(
    [...new Set([...Object.keys(p.idle.usage), ...Object.keys(pay?.perProcess ?? {})])].filter((k) => k !== 'load'),
  ).filter(
    (key) =>
      !roleOf(key)?.bench ||
      (pay?.perProcess[key] ?? 0) >= 0.1 ||
      (engine?.perProcess[key] ?? 0) >= 0.1 ||
      (p.idle.usage[key]?.avgCpu ?? 0) >= 1,
  );
  const share = (ms: number | undefined) =>
    ms === undefined || !pay || pay.totalMs === 0 ? '—' : `${Math.round((ms / pay.totalMs) * 100)}%`;
  const atLimit = (key: string) => {
    const u = limit?.usage[key];
    return u ? `${u.avgCpu}/${u.peakCpu}` : '—';
  };
  return [
    `| process | idle, % of a core | ms per payment | share | ms per engine workflow | at ${limit?.targetRate ?? '—'}/s (payments limit step), % avg/peak |`,
    '|---|---:|---:|---:|---:|---:|',
    ...keys.map(
      (key) =>
        `| ${key} | ${orDash(p.idle.usage[key]?.avgCpu)} | ${orDash(pay?.perProcess[key])} | ${share(pay?.perProcess[key])} | ` +
        `${orDash(engine?.perProcess[key])} | ${atLimit(key)} |`,
    ),
    `| **all** | | **${orDash(pay?.totalMs)}** | | **${orDash(engine?.totalMs)}** | |`,
    '',
    `Payments measured over ${pay ? `"${pay.run}" (${pay.completed} payments)` : 'no run'}; engine over ${engine ? `"${engine.run}" (${engine.completed} workflows)` : 'no run'}.`,
  ];
}

/**
 * The observability-cost table: a column per configuration, each figure with its difference from A (and the ratio
 * for CPU), then the checks that the configuration was what it claims (metrics served, traces recorded).
 */
export function observabilitySection(profile: string, o: ObservabilityResults): string[] {
  const a = o.costs.find((c) => c.config === 'A');
  const windowsOf = (c: ObsCost) => o.windows.filter((w) => w.config === c.config);
  const vsA = (value: number, base: number | undefined, ratio: boolean) => {
    if (base === undefined) return fmt(value);
    const times = ratio && base > 0 ? `, ×${(value / base).toFixed(2)}` : '';
    return `${fmt(value)} (${signed(value - base)}${times})`;
  };
  const row = (name: string, cell: (c: ObsCost) => string) => `| ${name} | ${o.costs.map(cell).join(' | ')} |`;
  const delta = (pick: (c: ObsCost) => number, ratio: boolean) => (c: ObsCost) =>
    c.config === 'A' || !a ? fmt(pick(c)) : vsA(pick(c), pick(a), ratio);
  return [
    `#### Observability cost: ${profile}`,
    '',
    `The same open-model payment rate, **${o.rate}/s** (${o.rateFrom}), in ${o.rounds} rounds of A, B, C, ${o.seconds} s ` +
      'each, the API and worker restarted with the configuration before each window. A: every metrics listener at port ' +
      '0 (API, worker, Temporal SDK exporter) and `OTEL_SDK_DISABLED=true`; B: the listeners on, scraped every ' +
      `${o.scrapeIntervalS} s as a Prometheus would; C: B and tracing, every payment traced, exported over OTLP to a ` +
      "Jaeger the bench started. CPU per payment is net of each process's idle (the same figure subtracted for " +
      'every configuration, so the differences are of gross CPU, background work included); latencies are pooled ' +
      "over every answer of a configuration's windows. Differences are against A.",
    '',
    `| | ${o.costs.map((c) => `${c.config}: ${c.label}`).join(' | ')} |`,
    `|---|${o.costs.map(() => '---:|').join('')}`,
    row('payments measured (errors)', (c) => `${c.completed} (${c.errors})`),
    row("**SettleFlow's API + worker, CPU ms per payment**", (c) => `**${delta((x) => x.settleflowMs, true)(c)}**`),
    row(
      '… of it the API',
      delta((x) => x.apiMs, true),
    ),
    row(
      '… of it the worker',
      delta((x) => x.workerMs, true),
    ),
    row("… SettleFlow's, each round", (c) => c.perRound.map(fmt).join(' · ')),
    row(
      'every stack process (not the load tool, not Jaeger), CPU ms per payment',
      delta((x) => x.stackMs, true),
    ),
    row(
      'Jaeger (the trace backend, apart), CPU ms per payment',
      delta((x) => x.jaegerMs, false),
    ),
    row(
      'p50 ms',
      delta((x) => x.latencyMs.p50, false),
    ),
    row('**p99 ms**', (c) => `**${delta((x) => x.latencyMs.p99, false)(c)}**`),
    row('metrics scrapes answered', (c) =>
      c.config === 'A' ? '— (listeners off)' : String(windowsOf(c).reduce((n, w) => n + w.metricsScrapes, 0)),
    ),
    row('payments traced in Jaeger (with worker spans)', (c) => {
      const ws = windowsOf(c);
      return `${ws.reduce((n, w) => n + w.traced, 0)} (${ws.reduce((n, w) => n + w.tracedWithWorker, 0)})`;
    }),
    '',
    o.reading,
    '',
  ];
}

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const baselineRows = [
    r.baselines.http,
    r.baselines.statusNoAuth,
    r.baselines.statusCached,
    r.baselines.statusUncached,
    ...(r.baselines.bareRead ? [r.baselines.bareRead] : []),
  ];
  const statusRows = r.status.sizes.flatMap((s) => [s.byReference, s.byTid, ...(s.storeRead ? [s.storeRead] : [])]);
  const stepSeconds = `${r.settings.stepSeconds} s`;
  const engineProcesses = (key: string) => !['api', 'worker', 'ferretdb'].includes(roleOf(key)?.role ?? '');
  const lines: string[] = [
    `### Run ${r.startedAt}`,
    '',
    `- Command: \`${r.command}\` — wall time ${fmt(r.wallSeconds)} s`,
    `- Commit: \`${r.commit}\``,
    `- Machine: ${m.cpus} cores (${m.cpuModel}), ${m.ramGb} GB RAM, Node ${m.node}, ${m.os}; load average (1/5/15 min) ${m.loadAvgBefore.join(' / ')} before, ${m.loadAvgAfter.join(' / ')} after (anything else running shares these cores)`,
    `- Settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')}`,
    '- CPU columns: average/peak % of one core per process over the step (200% = both cores); the load tool (this process: autocannon and the log pipes of the children) is shown when it averages 10% or more. "machine busy": every core of the machine over the step, whatever ran on it (100% = all cores).',
    '',
    '#### Side by side',
    '',
    ...sideBySide(r.profiles),
    '',
    '#### What limits each (computed from the figures below)',
    '',
    ...r.profiles.flatMap((p) => [
      `- **${p.profile}**, ${p.limits.payments}`,
      `- **${p.profile}**, ${p.limits.engine}`,
    ]),
    ...(r.comparison ? [`- ${r.comparison}`] : []),
    '',
    '#### Sizing: per history shard and per core',
    '',
    ...sizingTable(r.profiles),
    '',
    'CPU ms per payment are net of idle (below); a core sustains 1000 ms of CPU a second, so "per core" is 1000 / ms. The per-shard figures divide the sustainable rate by the shard count the frontend reports: with every shard on one machine they say how the load spread, not what one shard can take.',
    '',
    '#### CPU per payment, per process',
    '',
    `Each process's CPU over the half-rate run (a steady state below the ceiling), less what it uses with no load over as long (measured for ${r.profiles[0]?.idle.seconds ?? '—'} s after the stack started), divided by the requests completed in the run. PostgreSQL is its postmaster's whole process tree (every backend and helper).`,
    '',
    ...r.profiles.flatMap((p) => [`##### ${p.profile}`, '', ...costTable(p), '']),
    ...r.profiles.flatMap((p) => (p.observability ? observabilitySection(p.profile, p.observability) : [])),
    '#### Ratios',
    '',
    '| ratio | value | target | met |',
    '|---|---:|---|---|',
    ...r.ratios.map(
      (x) =>
        `| ${x.name} (${x.numerator} / ${x.denominator}) | ${x.denominator === '—' ? fmt(x.value) : fmtRatio(x.value)} | ${x.target} | ${x.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...r.profiles.flatMap((p) =>
      stepped(
        `1. Payments, non-3DS, sandbox (\`POST /v1/payment/direct\`, captured answers only): ${p.profile}`,
        p.payments,
        stepSeconds,
        (key) => !roleOf(key)?.bench,
      ),
    ),
    `#### 2. Status by Reference and by Tid on a populated store (\`POST /v1/status/direct\`), on the ${r.statusProfile} stack`,
    '',
    `Closed model, ${r.status.connections} connections, random stored payments; inserting took ` +
      r.status.sizes.map((s) => `${s.populateMs} ms to reach ${s.stored.toLocaleString('en')}`).join(', ') +
      '. These read FerretDB only: they run once, whichever Temporal is beside it.',
    '',
    ...closedTable(statusRows),
    '',
    peakRss(statusRows, (key) => key === 'api-status' || key === 'ferretdb' || key === 'store-reader'),
    '',
    'Store operations timed directly against the database at each size (median ms; the guarded update is the projection write, `{_id, seq: {$lt}}`):',
    '',
    ...probeTable(r.status.probes),
    '',
    ...(r.status.dashboard?.length
      ? [
          "Dashboard queries (src/store/payment-listing.ts; the merchant dashboard's lists and searches) on the same store:",
          '',
          ...dashboardSection(r.status.dashboard),
          '',
        ]
      : []),
    ...r.profiles.flatMap((p) =>
      p.refunds
        ? stepped(
            `3. Refunds of captured payments (\`POST /v1/refund/direct\`, one per Tid; ${p.refunds.precreated} payments made for it beforehand): ${p.profile}`,
            p.refunds,
            stepSeconds,
            (key) => !roleOf(key)?.bench,
          )
        : [],
    ),
    `#### 4. Baselines (on the ${r.statusProfile} stack)`,
    '',
    ...closedTable(baselineRows),
    '',
    peakRss(baselineRows, (key) => ['api-status', 'ferretdb', 'baseline', 'api-uncached'].includes(key)),
    '',
    ...r.profiles.flatMap((p) =>
      stepped(
        `Engine ceiling: no-op workflow, the payment's five no-op activities (three local), update-with-start (\`POST /engine\` of bench/baseline-server.ts): ${p.profile}`,
        p.engine,
        stepSeconds,
        engineProcesses,
      ),
    ),
  ];
  if (r.notes.length > 0) lines.push('#### Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

export const BENCHMARKS_INTRO = `# Benchmarks

\`\`\`sh
npm run bench                          # builds first; both stack profiles, about 25 minutes on 2 cores
BENCH_PROFILES=dev npm run bench       # one profile (dev or cluster): about 13 minutes
\`\`\`

It runs the payment path (engine ceiling, payments, refunds) on each stack profile in turn, with the same load
shape: first **dev**, the Temporal CLI dev server on SQLite with one SettleFlow worker and API; then **cluster**,
the production-shaped Temporal of tools/temporal-cluster.ts (frontend, matching, internal worker and two history
hosts as separate processes on PostgreSQL, 16 history shards) with two SettleFlow workers and two APIs. Each
profile gets a stack of its own on free ports with a fresh data dir under \`.data/bench/\` (or uses the servers named
by \`TEMPORAL_ADDRESS\` / \`MONGODB_URL\`; with \`TEMPORAL_ADDRESS\` set only one profile can run, and it measures that
server). The sections that do not involve Temporal (HTTP ceiling, status reads on a growing store, store and
dashboard probes, the auth comparison) run once, on the first profile's stack. Every scenario goes through the real
API next to the limits it is judged against, measured in the same run with the same load tool (autocannon); every
number goes to \`bench/results/<date>.json\`, and the run's section is appended at the end of this file.

Knobs: \`BENCH_PROFILES\` (\`dev,cluster\`), \`BENCH_STEP_SECONDS\` (10), \`BENCH_HALF_SECONDS\` (30),
\`BENCH_CLOSED_SECONDS\` (10), \`BENCH_IDLE_SECONDS\` (10), \`BENCH_BUDGET_SCALE\` (1; the stepped scenarios' time
budgets are 170 s for the engine and payments, 150 s for refunds), \`BENCH_REFUNDS=0\` (no refunds),
\`BENCH_STORE_SIZES\` (1000,10000,100000), \`BENCH_CONNECTIONS\` (16), \`BENCH_OBS_SECONDS\` (20 s per
observability-cost window; 0 skips the section), \`BENCH_OBS_ROUNDS\` (3), \`BENCH_OBS_RATE\` (payments/s; default half
the profile's sustainable rate), \`BENCH_OBS_PROFILES\` (\`dev\`; \`dev,cluster\` runs it on both),
\`BENCH_SKIP_REPORT=1\` (JSON only). A short run that checks the bench itself, not the figures (about 11 minutes):
\`npm run build && BENCH_STEP_SECONDS=5 BENCH_HALF_SECONDS=10 BENCH_CLOSED_SECONDS=3 BENCH_IDLE_SECONDS=5
BENCH_BUDGET_SCALE=0.35 BENCH_STORE_SIZES=1000,10000 BENCH_OBS_SECONDS=8 BENCH_OBS_ROUNDS=2 BENCH_SKIP_REPORT=1 node
dist/bench/run.js\`.

Method:

- **Open model** (payments, refunds, engine ceiling): a fixed arrival rate, stepped up (1, 2, 3, 4, 6, 8, 10, 15,
  20, 30, …/s) until a step breaks: p99 > 1 s, any error, or under 95% of the target sent within the step. The
  sustainable rate is the last good step; latency figures come from a longer run at half of it. Each connection
  sends one request per second, spread over up to ten staggered autocannon instances: in an accepted step no send
  waited for a slow answer (no coordinated omission). On the cluster profile the instances go to its two APIs in
  turn, as a load balancer would spread them (the arrivals are the same). The engine and payment ladders start
  after an unmeasured 5 s at one request a second per API (JIT, pools and caches are warm in production too).
- **Closed model** (fixed connections, back to back) for status reads and the HTTP ceiling: their capacity.
- An error is anything but the expected answer (socket error, timeout, non-2xx, or not Code 0 with the expected
  Status).
- **Resources**: every process is read from Linux's \`/proc\` every 500 ms: average/peak CPU per step (% of one
  core) and peak RSS. PostgreSQL counts as its postmaster's whole process tree (every backend and helper; shared
  memory once). "Machine busy" is every core of the machine over the step, whatever ran on it: other work on a
  shared machine shows there, beside what the bench's own processes used.
- **CPU per payment, per process**: each process's CPU over the half-rate run (a steady state below the ceiling),
  less what it uses with no load over as long (each stack is watched idle for \`BENCH_IDLE_SECONDS\` after it
  starts), over the requests completed in that run. The same for the engine's no-op workflow.
- **Sizing**: payments/s per history shard is the sustainable rate over the shard count the frontend reports
  (\`GetClusterInfo\`); payments/s per core of a role (history hosts, SettleFlow workers, APIs) is 1000 over its CPU
  ms per payment.
- **What limits each** is computed from the figures (bench/reading.ts), not written by hand: at the step that
  broke, a machine at ≥ 90% busy is CPU-bound (named: the role with the most CPU per payment, and how much of the
  machine other work took); else a Node process (API, worker, baseline) at ≥ 85% of one core is its event loop;
  else the time went to waiting (latency grew with CPU to spare). A ladder ended by its time budget says so: its
  ceiling was not found.
- **Observability cost** (issue 18), on the dev profile: three configurations of SettleFlow's API and worker at
  one open-model payment rate (half the sustainable rate found just before): A, metrics and tracing off (every
  metrics listener at port 0, \`OTEL_SDK_DISABLED=true\`); B, metrics on (the listeners scraped every 15 s, as
  \`deploy/observability/prometheus.yml\` does); C, metrics and tracing on, every payment traced and exported over
  OTLP to a Jaeger the bench starts. They take turns in rounds (A, B, C, A, B, C…), the API and worker restarted
  with the configuration's environment and warmed up before each window, so drift and other work on the machine
  fall on all three alike. Per configuration: CPU per payment of SettleFlow's processes and of the whole stack (net
  of idle, as above; the same idle figure for all three, so their differences are of gross CPU), Jaeger's CPU
  apart (the backend's cost), p50 / p99 pooled over every answer, each against A. The run checks that each
  configuration took, and stops otherwise: no metrics listener in A, metrics served in every window of B and C (a
  failed scrape is noted), no trace in Jaeger from A's and B's windows, C's payments traced with the worker's spans
  (under 95% of them is noted).
- Baselines: **HTTP ceiling**, bare Koa \`POST /noop\`; **bare read**, bare Koa \`POST /read\` parsing the body and
  reading the record by Tid, nothing around it: the most any Koa status answer can reach on this machine, so bare
  read / store read is the most status / store read can be; **no-auth status**, the status chain with the merchant fixed;
  **uncached auth**, an API with \`KEY_CACHE_TTL=1\` (Argon2id per request); **engine ceiling**, a no-op workflow
  with the payment's five activities (store writes and card release local), started the same way by a worker with
  the same settings (\`src/temporal/worker-options.ts\`) on the same server, as many baseline servers and engine
  workers as the profile has APIs and workers; **the store's own \`_id\` read**, at each store size, a bare driver
  loop (bench/store-reader.ts, a process of its own with the API's client settings) of \`findOne({_id})\` over the
  records the status scenario reads, with as many reads in flight as it has connections: no HTTP, no auth;
  **a payment's own work outside Temporal**, on each profile, bench/payment-work.ts in a process of its own at the
  payments' half rate for as long: the API's Tid check and vault write, then the worker's activity code called as
  the workflow calls it (record, authorize through the simulator, two projections, capture, card released) against
  the stack's FerretDB, with no HTTP, workflow, request log or metrics; and **the engine at the payments' half
  rate**, the no-op workflow run at that rate for as long, since CPU per request falls as the rate rises and the
  engine's own half rate is higher. Engine workflow plus that work is the least a payment can cost, so (engine +
  work) / engine, both at the payments' half rate, is the least the CPU ratio can be.
- **Targets** (the ratios table): payments ≥ 0.8 of the engine ceiling; p99 at half rate ≤ 150 ms on the dev
  server (250 ms on the cluster); CPU per payment, every process, ≤ 1.2× the engine workflow's; refunds ≥ the
  engine ceiling's rate; status by Tid and by Reference ≥ 0.8 of the store's own \`_id\` read rate at the same size,
  and flat across sizes (≥ 0.9).
- The status store holds synthetic payments (record, Reference and listing documents shaped as the workflow writes
  them, bench/populate.ts): status reads only the two \`_id\`-keyed documents; the dashboard queries read the
  listing ranges.

The section a run appends: **Side by side** (a column per profile: Temporal's shape, history shards, start time,
idle CPU, engine ceiling, payments and their ratio, p50 / p95 / p99 at half rate, refunds, CPU per payment and per
engine workflow, how busy the machine was at each limit step); **What limits each** (the computed reading per
profile and scenario, then the second profile against the first); **Sizing** (per history shard and per core:
what docs/deploying.md sizes from); **CPU per payment, per process** (a table per profile, with each process's
idle CPU and its load at the payments limit step); **Observability cost** (the three configurations side by
side, their differences from A, each round's figure, and the checks); the ratios; then the step tables: payments on
each profile, status and store (once), refunds on each profile, the baselines, the engine ceiling on each profile.

`;
