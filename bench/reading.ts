import type { LatencySummary } from './load';
import { summarize } from './load';
import type { Measured, SteppedScenario } from './report';
import type { ProcessUsage } from './resources';

/**
 * What the figures of one stack profile say, computed from them (never written by hand): the CPU each process
 * spends per request, what limited each stepped scenario, and the sizing figures docs/deploying.md uses.
 */

/** The processes the bench samples, by key: `api-2`, `worker-2`, `history-1`… are replicas of one role. */
const ROLES: { role: string; label: string; node: boolean; bench?: boolean; matches: (key: string) => boolean }[] = [
  { role: 'api', label: 'SettleFlow API', node: true, matches: (k) => /^api(-\d+)?$/.test(k) },
  { role: 'worker', label: 'SettleFlow worker', node: true, matches: (k) => /^worker(-\d+)?$/.test(k) },
  { role: 'temporal', label: 'Temporal dev server', node: false, matches: (k) => k === 'temporal' },
  { role: 'frontend', label: 'Temporal frontend', node: false, matches: (k) => k === 'frontend' },
  { role: 'matching', label: 'Temporal matching', node: false, matches: (k) => k === 'matching' },
  { role: 'history', label: 'Temporal history', node: false, matches: (k) => /^history-\d+$/.test(k) },
  { role: 'temporal-worker', label: 'Temporal internal worker', node: false, matches: (k) => k === 'temporal-worker' },
  { role: 'postgres', label: 'PostgreSQL', node: false, matches: (k) => k === 'postgres' },
  { role: 'ferretdb', label: 'FerretDB', node: false, matches: (k) => k === 'ferretdb' },
  { role: 'ui', label: 'Temporal UI', node: false, matches: (k) => k === 'ui' },
  {
    role: 'baseline',
    label: 'bench baseline server',
    node: true,
    bench: true,
    matches: (k) => /^baseline(-\d+)?$/.test(k),
  },
  {
    role: 'engine-worker',
    label: 'bench engine worker',
    node: true,
    bench: true,
    matches: (k) => /^engine-worker(-\d+)?$/.test(k),
  },
  {
    role: 'payment-work',
    label: "bench: a payment's work outside Temporal",
    node: true,
    bench: true,
    matches: (k) => k === 'payment-work',
  },
  { role: 'api-status', label: 'status API', node: true, bench: true, matches: (k) => k === 'api-status' },
  { role: 'api-uncached', label: 'uncached API', node: true, bench: true, matches: (k) => k === 'api-uncached' },
  { role: 'load', label: 'load tool', node: true, bench: true, matches: (k) => k === 'load' },
  // The trace backend of the observability-cost section: its cost is the backend's, never SettleFlow's.
  { role: 'jaeger', label: 'Jaeger', node: false, bench: true, matches: (k) => k === 'jaeger' },
];

export function roleOf(key: string): (typeof ROLES)[number] | undefined {
  return ROLES.find((r) => r.matches(key));
}

/** Display order of process keys: by role, replicas in order. */
export function processOrder(keys: string[]): string[] {
  const rank = (key: string) => {
    const i = ROLES.findIndex((r) => r.matches(key));
    return i === -1 ? ROLES.length : i;
  };
  return [...keys].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en', { numeric: true }));
}

/** Temporal's own processes: the dev server, or the cluster's services. */
const TEMPORAL_ROLES = new Set(['temporal', 'frontend', 'matching', 'history', 'temporal-worker']);

/** CPU ms per request of each process over one run, net of what the process uses idle. */
export interface Cost {
  /** The run it was computed from (its label), its rate and how many requests completed in it. */
  run: string;
  rate: number;
  completed: number;
  perProcess: Record<string, number>;
  /** Every process but the load tool. */
  totalMs: number;
}

const round1 = (n: number) => Math.round(n * 10) / 10;

/**
 * The least the CPU ratio can be: (CPU per engine workflow + CPU of the payment's own work outside Temporal) over CPU
 * per engine workflow. A payment does at least both; what it spends beyond is the integration's.
 */
export function cpuFloorAgainstEngine(cost: { engine?: Cost; work?: Cost }): number | undefined {
  const { work, engine } = cost;
  if (!work || !engine || engine.totalMs <= 0) return undefined;
  return Number(((engine.totalMs + work.totalMs) / engine.totalMs).toPrecision(3));
}

/**
 * CPU per payment over CPU per engine workflow, every process (issue 19's target: at most 1.2), to three
 * significant figures as the ratios table shows it; undefined while either cost is missing.
 */
export function cpuAgainstEngine(cost: { payments?: Cost; engine?: Cost }): number | undefined {
  const { payments, engine } = cost;
  if (!payments || !engine || engine.totalMs <= 0) return undefined;
  return Number((payments.totalMs / engine.totalMs).toPrecision(3));
}

/**
 * CPU per request: the CPU each process used over the run, less what it uses with no load over as long (measured
 * before the scenarios), over the requests completed. The run is the half-rate one (a steady state, not
 * saturated), else the last good step.
 */
export function costPerRequest(s: SteppedScenario, idle: Record<string, ProcessUsage>): Cost | undefined {
  const run: Measured | undefined = s.half ?? s.steps.filter((x) => x.verdict === 'ok').at(-1) ?? s.steps[0];
  return run && costOfRun(run, idle);
}

/** CPU per request over one measured run, net of each process's idle. */
export function costOfRun(run: Measured, idle: Record<string, ProcessUsage>): Cost | undefined {
  if (run.completed === 0) return undefined;
  const perProcess: Record<string, number> = {};
  for (const [key, u] of Object.entries(run.usage)) {
    if (key === 'load' || u.cpuMs === undefined || u.wallMs === undefined) continue;
    const idleCpuMs = ((idle[key]?.avgCpu ?? 0) / 100) * u.wallMs;
    perProcess[key] = round1(Math.max(0, u.cpuMs - idleCpuMs) / run.completed);
  }
  const totalMs = round1(Object.values(perProcess).reduce((a, b) => a + b, 0));
  return { run: run.label, rate: run.targetRate ?? 0, completed: run.completed, perProcess, totalMs };
}

/** A role's replicas summed: "SettleFlow worker (2)" and its ms per request. */
function byRole(cost: Cost): { role: string; label: string; ms: number }[] {
  const roles = new Map<string, { role: string; label: string; ms: number; n: number }>();
  for (const [key, ms] of Object.entries(cost.perProcess)) {
    const role = roleOf(key);
    if (!role) continue;
    const entry = roles.get(role.role) ?? { role: role.role, label: role.label, ms: 0, n: 0 };
    entry.ms += ms;
    entry.n++;
    roles.set(role.role, entry);
  }
  return [...roles.values()]
    .map((r) => ({ role: r.role, label: r.n > 1 ? `${r.label} (${r.n} processes)` : r.label, ms: round1(r.ms) }))
    .sort((a, b) => b.ms - a.ms);
}

/** The step where the limit shows: the one that broke, else the last one run. */
export function limitStep(s: SteppedScenario): Measured | undefined {
  return s.steps.at(-1);
}

/** Machine busy share above which the cores count as saturated. */
export const SATURATED_PCT = 90;
/** A Node process at this share of one core has no room left on its event loop. */
const FULL_CORE_PCT = 85;

/**
 * What limited a stepped scenario, in a sentence or three: how the ladder ended, whether the machine's cores were
 * saturated at the limiting step (and by whom), which role costs the most CPU per request; when the cores were
 * not saturated, whether a single-threaded Node process was at a full core, else that the time went to waiting.
 */
export function limitReading(name: string, s: SteppedScenario, cost: Cost | undefined): string {
  const step = limitStep(s);
  if (!step) return `${name}: no step ran.`;
  const parts: string[] = [];
  const next = s.steps.find((x) => x.verdict !== 'ok');
  if (next?.verdict === 'errors')
    parts.push(
      `${name}: ${s.sustainableRate}/s sustainable; ${next.targetRate}/s broke on errors (${Object.entries(
        next.errorKinds,
      )
        .map(([kind, n]) => `${kind}: ${n}`)
        .join(', ')}): a failure to look into, whatever the load.`,
    );
  else if (next)
    parts.push(`${name}: ${s.sustainableRate}/s sustainable; ${next.targetRate}/s broke (${next.verdict}).`);
  else if (s.endedBy === 'time budget' || s.endedBy === 'refused')
    parts.push(
      `${name}: ${s.sustainableRate}/s, the last step run (${s.endedBy === 'time budget' ? 'the time budget ended the ladder' : 'the ladder stopped early'}): the ceiling is at least that, not found.`,
    );
  else parts.push(`${name}: ${s.sustainableRate}/s, the top of the ladder: the ceiling was not found.`);

  const machine = step.machine;
  const ours = Object.entries(step.usage).reduce((sum, [, u]) => sum + u.avgCpu, 0);
  const top = cost ? byRole(cost) : [];
  const topText = top
    .slice(0, 2)
    .map((r) => `${r.label} ${r.ms} ms (${cost!.totalMs > 0 ? Math.round((r.ms / cost!.totalMs) * 100) : 0}%)`)
    .join(', then ');
  const costText = cost
    ? ` CPU per request (at ${cost.rate}/s, net of idle): ${cost.totalMs} ms in all; the most: ${topText}.`
    : '';
  if (machine) {
    const oursPct = Math.round(ours / machine.cores);
    const others = Math.max(0, Math.round(machine.busyPct - oursPct));
    const where = `at ${step.targetRate}/s the machine's ${machine.cores} cores were ${Math.round(machine.busyPct)}% busy (this bench's processes ${oursPct}%, anything else ${others}%)`;
    const busiestNode = Object.entries(step.usage)
      .filter(([key, u]) => roleOf(key)?.node && key !== 'load' && u.avgCpu >= FULL_CORE_PCT)
      .sort((a, b) => b[1].avgCpu - a[1].avgCpu)[0];
    if (!next) {
      // The ladder stopped before any step broke: what the last step used, no verdict on a limit not reached.
      parts.push(`${where.charAt(0).toUpperCase()}${where.slice(1)}.${costText}`);
    } else if (machine.busyPct >= SATURATED_PCT) {
      parts.push(`CPU-bound: ${where}.${costText}`);
      if (others >= 25)
        parts.push(`Other work took ${others}% of the cores: on a machine of its own the ceiling would be higher.`);
    } else if (busiestNode) {
      parts.push(
        `Not the machine (${where}): ${busiestNode[0]} ran at ${busiestNode[1].avgCpu}% of one core, the limit of a Node process's one event loop.${costText}`,
      );
    } else {
      const first = s.steps[0]!;
      parts.push(
        `Not CPU-bound: ${where}, and no Node process near a full core; p50 went from ${first.latencyMs.p50} ms at ${first.targetRate}/s to ${step.latencyMs.p50} ms: the time went to waiting (queues in the engine, store round trips), not computing.${costText}`,
      );
    }
  } else if (costText) parts.push(costText.trim());
  return parts.join(' ');
}

/** The per-profile figures behind docs/deploying.md's sizing. */
export interface Sizing {
  historyShards: number;
  paymentsPerShard: number;
  enginePerShard: number;
  /** CPU ms per payment of the history hosts; undefined on the dev server, whose one process runs every service. */
  historyMsPerPayment?: number;
  paymentsPerHistoryCore?: number;
  temporalMsPerPayment: number;
  workerMsPerPayment: number;
  paymentsPerWorkerCore?: number;
  apiMsPerPayment: number;
  paymentsPerApiCore?: number;
}

const sumRole = (cost: Cost | undefined, roles: (role: string) => boolean) =>
  round1(
    Object.entries(cost?.perProcess ?? {})
      .filter(([key]) => roles(roleOf(key)?.role ?? ''))
      .reduce((sum, [, ms]) => sum + ms, 0),
  );
/** Requests per second one core sustains at `ms` CPU each. */
const perCore = (ms: number) => (ms > 0 ? Math.round((1000 / ms) * 10) / 10 : undefined);

export function sizing(
  shards: number,
  payments: SteppedScenario,
  engine: SteppedScenario,
  cost: Cost | undefined,
  historySeparate: boolean,
): Sizing {
  const history = historySeparate ? sumRole(cost, (r) => r === 'history') : undefined;
  const worker = sumRole(cost, (r) => r === 'worker');
  const api = sumRole(cost, (r) => r === 'api');
  return {
    historyShards: shards,
    paymentsPerShard: round2(payments.sustainableRate / Math.max(1, shards)),
    enginePerShard: round2(engine.sustainableRate / Math.max(1, shards)),
    historyMsPerPayment: history,
    paymentsPerHistoryCore: history === undefined ? undefined : perCore(history),
    temporalMsPerPayment: sumRole(cost, (r) => TEMPORAL_ROLES.has(r)),
    workerMsPerPayment: worker,
    paymentsPerWorkerCore: perCore(worker),
    apiMsPerPayment: api,
    paymentsPerApiCore: perCore(api),
  };
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/** One profile against another (the first run against the second), by the same figures. */
export function comparisonReading(
  a: { profile: string; payments: SteppedScenario; engine: SteppedScenario; cost?: Cost },
  b: { profile: string; payments: SteppedScenario; engine: SteppedScenario; cost?: Cost },
): string {
  const times = (x: number, y: number) => (y > 0 ? `×${(x / y).toFixed(2)}` : '—');
  const parts = [
    `${b.profile} against ${a.profile}: payments ${b.payments.sustainableRate}/s vs ${a.payments.sustainableRate}/s (${times(b.payments.sustainableRate, a.payments.sustainableRate)}), engine ${b.engine.sustainableRate}/s vs ${a.engine.sustainableRate}/s (${times(b.engine.sustainableRate, a.engine.sustainableRate)}).`,
  ];
  if (a.cost && b.cost) {
    const temporalA = sumRole(a.cost, (r) => TEMPORAL_ROLES.has(r) || r === 'postgres');
    const temporalB = sumRole(b.cost, (r) => TEMPORAL_ROLES.has(r) || r === 'postgres');
    parts.push(
      `CPU per payment ${b.cost.totalMs} ms vs ${a.cost.totalMs} ms (${times(b.cost.totalMs, a.cost.totalMs)}); of it Temporal and its store ${temporalB} ms vs ${temporalA} ms, SettleFlow's processes ${round1(sumRole(b.cost, (r) => r === 'api' || r === 'worker'))} ms vs ${round1(sumRole(a.cost, (r) => r === 'api' || r === 'worker'))} ms.`,
    );
  }
  return parts.join(' ');
}

// ── Observability cost ──────────────────────────────────────────────────────────────────────────────────

/** The configurations the observability-cost section compares, in the order each round runs them. */
export const OBS_CONFIGS = [
  { config: 'A', label: 'metrics off, tracing off' },
  { config: 'B', label: 'metrics on, tracing off' },
  { config: 'C', label: 'metrics on, tracing on (Jaeger)' },
] as const;
export type ObsConfigName = (typeof OBS_CONFIGS)[number]['config'];

/** One configuration's figures over all its windows (every round). */
export interface ObsCost {
  config: ObsConfigName;
  label: string;
  windows: number;
  completed: number;
  errors: number;
  /** Pooled over every answer of every window, not averaged per window. */
  latencyMs: LatencySummary;
  /** CPU ms per payment of each process, net of its idle (see obsCost). */
  perProcess: Record<string, number>;
  /** SettleFlow's processes: every API and worker. */
  settleflowMs: number;
  apiMs: number;
  workerMs: number;
  /** Every process of the stack (SettleFlow's, Temporal's, its stores), not the bench's own nor Jaeger. */
  stackMs: number;
  /** The trace backend, gross (it was not running when the stack was watched idle). */
  jaegerMs: number;
  /** SettleFlow's CPU ms per payment in each window, in round order: how much the figure moves between rounds. */
  perRound: number[];
}

const isSettleFlow = (key: string) => ['api', 'worker'].includes(roleOf(key)?.role ?? '');
const isStack = (key: string) => roleOf(key)?.bench !== true;

/**
 * A configuration's CPU per payment, summed over its windows: each process's CPU time less what it uses idle over
 * as long (the stack's idle figure, the same for every configuration: the differences between configurations are
 * then differences of gross CPU, background work included), over the payments completed. Latency percentiles are
 * of every answer pooled.
 */
export function obsCost(
  config: ObsConfigName,
  windows: Measured[],
  latencies: number[],
  idle: Record<string, ProcessUsage>,
): ObsCost {
  const net = (key: string, m: Measured) => {
    const u = m.usage[key];
    if (u?.cpuMs === undefined || u.wallMs === undefined) return 0;
    return u.cpuMs - ((idle[key]?.avgCpu ?? 0) / 100) * u.wallMs;
  };
  const completed = windows.reduce((sum, m) => sum + m.completed, 0);
  const keys = [...new Set(windows.flatMap((m) => Object.keys(m.usage)))].filter((key) => key !== 'load');
  const perProcess: Record<string, number> = {};
  for (const key of keys) {
    const ms = windows.reduce((sum, m) => sum + net(key, m), 0);
    perProcess[key] = completed > 0 ? round1(Math.max(0, ms) / completed) : 0;
  }
  const sum = (only: (key: string) => boolean) =>
    round1(
      Object.entries(perProcess)
        .filter(([key]) => only(key))
        .reduce((total, [, ms]) => total + ms, 0),
    );
  return {
    config,
    label: OBS_CONFIGS.find((c) => c.config === config)!.label,
    windows: windows.length,
    completed,
    errors: windows.reduce((total, m) => total + m.errors, 0),
    latencyMs: summarize(latencies),
    perProcess,
    settleflowMs: sum(isSettleFlow),
    apiMs: sum((key) => roleOf(key)?.role === 'api'),
    workerMs: sum((key) => roleOf(key)?.role === 'worker'),
    stackMs: sum(isStack),
    jaegerMs: sum((key) => roleOf(key)?.role === 'jaeger'),
    perRound: windows.map((m) =>
      m.completed > 0
        ? round1(
            Object.keys(m.usage)
              .filter(isSettleFlow)
              .reduce((total, key) => total + net(key, m), 0) / m.completed,
          )
        : 0,
    ),
  };
}

/** "+1.2" / "−0.4": a difference, signed. */
export const signed = (n: number) => `${n < 0 ? '−' : '+'}${Math.abs(round1(n))}`;

/**
 * What the three configurations say, computed from them: what metrics cost (B against A), what tracing adds on top
 * (C against B), what the backend took, and how far one configuration's rounds spread (differences within that
 * spread are noise).
 */
export function obsReading(costs: ObsCost[]): string {
  const [a, b, c] = (['A', 'B', 'C'] as const).map((name) => costs.find((x) => x.config === name));
  if (!a || !b || !c || a.completed === 0) return 'Observability cost: not every configuration ran.';
  const against = (x: ObsCost, y: ObsCost) =>
    `${signed(x.settleflowMs - y.settleflowMs)} ms CPU per payment in SettleFlow's API and worker ` +
    `(${y.settleflowMs} → ${x.settleflowMs} ms), ${signed(x.stackMs - y.stackMs)} ms in the whole stack; ` +
    `p50 ${signed(x.latencyMs.p50 - y.latencyMs.p50)} ms, p99 ${signed(x.latencyMs.p99 - y.latencyMs.p99)} ms`;
  const spread = Math.max(
    ...costs.map((x) => (x.perRound.length > 1 ? Math.max(...x.perRound) - Math.min(...x.perRound) : 0)),
  );
  return [
    `Metrics (B against A): ${against(b, a)}.`,
    `Tracing on top (C against B): ${against(c, b)}; Jaeger, the backend, used ${c.jaegerMs} ms of CPU per payment receiving them, against ${a.jaegerMs} ms idle in A's windows (its own cost, not SettleFlow's).`,
    `Both (C against A): ${signed(c.settleflowMs - a.settleflowMs)} ms in SettleFlow's processes (×${a.settleflowMs > 0 ? (c.settleflowMs / a.settleflowMs).toFixed(2) : '—'}).`,
    `Round to round, one configuration's SettleFlow CPU per payment moved by up to ${round1(spread)} ms: differences within that are noise.`,
  ].join(' ');
}
