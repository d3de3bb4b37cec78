import type { LoadResult } from './load';
import type { ProcessUsage } from './resources';
import { MAX_EXAMINED } from '../src/store/payment-listing';
import type { DashboardProbe, StoreProbe } from './store-probe';

/** Everything one `npm run bench` measured: written as JSON, rendered as the BENCHMARKS.md section. */
export interface Measured extends LoadResult {
  label: string;
  usage: Record<string, ProcessUsage>;
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
}

export interface StoreSize {
  stored: number;
  populateMs: number;
  byReference: Measured;
  byTid: Measured;
}

export interface Ratio {
  name: string;
  numerator: string;
  denominator: string;
  value: number;
  target: string;
  met: boolean;
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
  payments: SteppedScenario;
  status: { sizes: StoreSize[]; connections: number; probes: StoreProbe[]; dashboard?: DashboardProbe[] };
  refunds: SteppedScenario & { precreated: number };
  baselines: {
    http: Measured;
    engine: SteppedScenario;
    statusNoAuth: Measured;
    statusCached: Measured;
    statusUncached: Measured;
  };
  ratios: Ratio[];
  notes: string[];
}

/** The processes a table shows, in this order, with short column names. */
const PROCESSES: [string, string][] = [
  ['api', 'api'],
  ['api-status', 'api (status)'],
  ['worker', 'worker'],
  ['temporal', 'temporal'],
  ['ferretdb', 'ferretdb'],
  ['baseline', 'baseline'],
  ['engine-worker', 'engine wkr'],
  ['api-uncached', 'api (uncached)'],
  ['load', 'load tool'],
];

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
/** Ratios far below 1 keep two significant digits, so 0.004 does not read as 0. */
const fmtRatio = (n: number) => (n === 0 || n >= 0.1 ? n.toFixed(2) : n.toPrecision(2));

/**
 * "api 45/80 · worker 120/150 …": average/peak CPU % of the processes that did anything. The load tool only when it
 * averages 10% or more of a core, where it could be what limits a step.
 */
function cpuCell(usage: Record<string, ProcessUsage>): string {
  return PROCESSES.filter(([key]) => active(usage[key]) && (key !== 'load' || usage[key]!.avgCpu >= 10))
    .map(([key, label]) => `${label} ${usage[key]!.avgCpu}/${usage[key]!.peakCpu}`)
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
 * the JSON), which keeps BENCHMARKS.md readable.
 */
function peakRss(rows: Measured[], keys = ['api', 'api-status', 'worker', 'temporal', 'ferretdb']): string {
  const peak = (key: string) => Math.max(0, ...rows.map((m) => m.usage[key]?.peakRssMb ?? 0));
  return `Peak RSS over the scenario: ${keys
    .filter((key) => rows.some((m) => active(m.usage[key])))
    .map((key) => `${PROCESSES.find(([k]) => k === key)![1]} ${peak(key)} MB`)
    .join(' · ')}.`;
}

function openTable(rows: Measured[], verdicts: (string | undefined)[]): string[] {
  const lines = [
    '| run | target /s | achieved /s | done /s | p50 ms | p95 ms | p99 ms | max ms | errors | verdict | CPU % avg/peak |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  rows.forEach((m, i) => {
    lines.push(
      `| ${m.label} | ${m.targetRate ?? '—'} | ${fmt(m.achievedRate)} | ${fmt(m.throughput)} | ${fmt(m.latencyMs.p50)} | ${fmt(m.latencyMs.p95)} | ` +
        `${fmt(m.latencyMs.p99)} | ${fmt(m.latencyMs.max)} | ${errorCell(m)} | ${verdicts[i] ?? ''} | ${cpuCell(m.usage)} |`,
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

function stepped(title: string, s: SteppedScenario, seconds: string, rssOf?: string[]): string[] {
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

export function renderMarkdown(r: BenchResults): string {
  const m = r.machine;
  const baselineRows = [
    r.baselines.http,
    r.baselines.statusNoAuth,
    r.baselines.statusCached,
    r.baselines.statusUncached,
  ];
  const stepSeconds = `${r.settings.stepSeconds} s`;
  const lines: string[] = [
    `### Run ${r.startedAt}`,
    '',
    `- Command: \`${r.command}\` — wall time ${fmt(r.wallSeconds)} s`,
    `- Commit: \`${r.commit}\``,
    `- Machine: ${m.cpus} cores (${m.cpuModel}), ${m.ramGb} GB RAM, Node ${m.node}, ${m.os}; load average (1/5/15 min) ${m.loadAvgBefore.join(' / ')} before, ${m.loadAvgAfter.join(' / ')} after (anything else running shares these cores)`,
    `- Settings: ${Object.entries(r.settings)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')}`,
    '- CPU columns: average/peak % of one core per process over the step (200% = both cores); the load tool (this process: autocannon and the log pipes of the children) is shown when it averages 10% or more.',
    '',
    '#### Ratios',
    '',
    '| ratio | value | target | met |',
    '|---|---:|---|---|',
    ...r.ratios.map(
      (x) =>
        `| ${x.name} (${x.numerator} / ${x.denominator}) | ${x.denominator === '—' ? fmt(x.value) : fmtRatio(x.value)} | ${x.target} | ${x.met ? 'yes' : '**no**'} |`,
    ),
    '',
    ...stepped(
      '1. Payments, non-3DS, sandbox (`POST /v1/payment/direct`, captured answers only)',
      r.payments,
      stepSeconds,
    ),
    '#### 2. Status by Reference and by Tid on a populated store (`POST /v1/status/direct`)',
    '',
    `Closed model, ${r.status.connections} connections, random stored payments; inserting took ` +
      r.status.sizes.map((s) => `${s.populateMs} ms to reach ${s.stored.toLocaleString('en')}`).join(', ') +
      '.',
    '',
    ...closedTable(r.status.sizes.flatMap((s) => [s.byReference, s.byTid])),
    '',
    peakRss(r.status.sizes.flatMap((s) => [s.byReference, s.byTid])),
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
    ...stepped(
      `3. Refunds of captured payments (\`POST /v1/refund/direct\`, one per Tid; ${r.refunds.precreated} payments made for it beforehand)`,
      r.refunds,
      stepSeconds,
    ),
    '#### 4. Baselines',
    '',
    ...closedTable(baselineRows),
    '',
    peakRss(baselineRows, ['api-status', 'ferretdb', 'baseline', 'api-uncached']),
    '',
    ...stepped(
      "Engine ceiling: no-op workflow, the payment's five no-op activities (three local), update-with-start (`POST /engine` of bench/baseline-server.ts)",
      r.baselines.engine,
      stepSeconds,
      ['temporal', 'engine-worker', 'baseline'],
    ),
  ];
  if (r.notes.length > 0) lines.push('#### Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

export const BENCHMARKS_INTRO = `# Benchmarks

\`\`\`sh
npm run bench   # builds first; about 11 minutes on 2 cores
\`\`\`

It starts the embedded stack (Temporal dev server, FerretDB, worker, API) on free ports with a fresh data dir
under \`.data/bench/\` (or uses the servers named by \`TEMPORAL_ADDRESS\` / \`MONGODB_URL\`), runs every scenario
through the real API next to the limits it is judged against, measured in the same run with the same load tool
(autocannon), writes every number to \`bench/results/<date>.json\` and appends the run's section at the end of this
file. Knobs: \`BENCH_STEP_SECONDS\` (10), \`BENCH_HALF_SECONDS\` (30), \`BENCH_CLOSED_SECONDS\` (10),
\`BENCH_STORE_SIZES\` (1000,10000,100000), \`BENCH_CONNECTIONS\` (16), \`BENCH_SKIP_REPORT=1\` (JSON only).

Method:

- **Open model** (payments, refunds, engine ceiling): a fixed arrival rate, stepped up (1, 2, 3, 4, 6, 8, 10, 15,
  20, 30, …/s) until a step breaks: p99 > 1 s, any error, or under 95% of the target sent within the step. The
  sustainable rate is the last good step; latency figures come from a longer run at half of it. Each connection
  sends one request per second, spread over up to ten staggered autocannon instances: in an accepted step no send
  waited for a slow answer (no coordinated omission).
- **Closed model** (fixed connections, back to back) for status reads and the HTTP ceiling: their capacity.
- An error is anything but the expected answer (socket error, timeout, non-2xx, or not Code 0 with the expected
  Status). pidusage samples every process every 500 ms: average/peak CPU per step (% of one core), peak RSS.
- Baselines: **HTTP ceiling**, bare Koa \`POST /noop\`; **no-auth status**, the status chain with the merchant fixed;
  **uncached auth**, an API with \`KEY_CACHE_TTL=1\` (Argon2id per request); **engine ceiling**, a no-op workflow
  with the payment's five activities (store writes and card release local), started the same way by a worker with
  the same settings (\`src/temporal/worker-options.ts\`) on the same server.
- The status store holds synthetic payments (record, Reference and listing documents shaped as the workflow writes
  them, bench/populate.ts): status reads only the two \`_id\`-keyed documents; the dashboard queries read the
  listing ranges.

`;
