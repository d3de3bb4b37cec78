import { ensureBinary, jaegerSpec } from '../tools/binaries';
import type { ManagedProcess } from '../tools/process';
import { type Jaeger, startJaeger } from '../tools/servers';
import { type Stack, startApiProcess, startWorkerProcess } from '../tools/stack';
import { type RequestSpec, runAtRate } from './load';
import { OBS_CONFIGS, type ObsConfigName, obsCost, obsReading } from './reading';
import type { ObservabilityResults, ObsWindow } from './report';
import type { ProcessUsage } from './resources';
import { type Bench, describeErrors, log, measured, SETTLE_MS, sleep } from './scenarios';

/**
 * The observability-cost section (issue 18): what metrics and tracing cost per payment, measured side by side in
 * one run. Three configurations of SettleFlow's API and worker (bench/reading.ts, OBS_CONFIGS) take turns at the
 * same open-model payment rate, in rounds (A, B, C, A, B, C…), so that drift and other work on a shared machine
 * fall on all three alike. Before each window the API and worker are restarted with the configuration's
 * environment; during it the metrics listeners are scraped as a Prometheus would, and afterwards Jaeger is asked
 * which payments it holds a trace of: a window whose configuration did not take (metrics not served, traces
 * missing, or traces where tracing was off) stops the bench rather than giving figures.
 *
 * Knobs: BENCH_OBS_SECONDS (20; 0 skips the section), BENCH_OBS_ROUNDS (3), BENCH_OBS_RATE (default half the
 * profile's sustainable payment rate), BENCH_OBS_PROFILES (dev; the profiles it runs on, comma-separated).
 */

const num = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
export const OBS_SECONDS = num('BENCH_OBS_SECONDS', 20);
export const OBS_ROUNDS = num('BENCH_OBS_ROUNDS', 3);
const OBS_RATE = process.env.BENCH_OBS_RATE ? Number(process.env.BENCH_OBS_RATE) : undefined;
const OBS_PROFILES = (process.env.BENCH_OBS_PROFILES ?? 'dev')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);

/** Whether the section runs on `profile`. */
export const observabilityOn = (profile: string) => OBS_SECONDS > 0 && OBS_ROUNDS > 0 && OBS_PROFILES.includes(profile);

/** deploy/observability/prometheus.yml's scrape_interval. */
const SCRAPE_INTERVAL_S = 15;
const WARM_UP_SECONDS = 5;
/** The batch span processor's default delay (OTEL_BSP_SCHEDULE_DELAY, 5 s), and Jaeger's own batching after it. */
const EXPORT_DELAY_MS = 8000;
const PAYMENT_OPERATION = 'POST /v1/payment/direct';

/** The environment that makes an API and worker run configuration `config` (docs/metrics.md, docs/tracing.md). */
function configEnv(config: ObsConfigName, jaeger: Jaeger): Record<string, string> {
  // Port 0 is off; without a port named the stack gives each listener a free one (tools/stack.ts).
  const metricsOff = { API_METRICS_PORT: '0', WORKER_METRICS_PORT: '0', WORKER_SDK_METRICS_PORT: '0' };
  // Off whatever OTEL_* variables this process was started with (a stack hands every one on).
  const tracingOff = { OTEL_SDK_DISABLED: 'true' };
  if (config === 'A') return { ...metricsOff, ...tracingOff };
  if (config === 'B') return tracingOff;
  return {
    OTEL_SDK_DISABLED: 'false',
    OTEL_TRACES_EXPORTER: 'otlp',
    OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl,
    // The signal's own variable wins over the generic one when inherited; it is used as it is, path included.
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${jaeger.otlpHttpUrl}/v1/traces`,
    // Every payment, as by default: the trace count below expects one per payment.
    OTEL_TRACES_SAMPLER: 'parentbased_always_on',
  };
}

/** Every API and worker of the stack, stopped and started again with `env` (replicas keep their names and ports). */
async function restartApps(stack: Stack, env: Record<string, string>): Promise<void> {
  await stack.startWorker(env);
  for (const [i, proc] of stack.moreWorkers.entries()) {
    await proc.stop();
    stack.moreWorkers[i] = await startWorkerProcess(stack.config, env, proc.name);
  }
  await stack.startApi(env);
  for (const [i, proc] of stack.moreApis.entries()) {
    await proc.stop();
    const port = Number(new URL(stack.apiUrls[i + 1]!).port);
    stack.moreApis[i] = await startApiProcess({ ...stack.config, port }, env, proc.name);
  }
}

/**
 * Scrapes every metrics listener of the stack's apps now and every SCRAPE_INTERVAL_S until stopped; resolves with
 * the scrapes where every listener answered 200 with its metrics, and what went wrong otherwise.
 */
function startScraping(stack: Stack): { stop(): Promise<{ ok: number; failures: string[] }> } {
  const apps = [stack.api, stack.worker, ...stack.moreApis, ...stack.moreWorkers];
  const targets = apps.flatMap((app) => [
    ...(app?.metricsUrl ? [{ url: app.metricsUrl, expect: 'settleflow_', name: app.name }] : []),
    ...(app?.sdkMetricsUrl ? [{ url: app.sdkMetricsUrl, expect: 'temporal_', name: `${app.name} SDK` }] : []),
  ]);
  let ok = 0;
  const failures: string[] = [];
  const scrape = async () => {
    if (targets.length === 0) {
      failures.push('no metrics listener');
      return;
    }
    const answers = await Promise.all(
      targets.map(async ({ url, expect, name }) => {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
          const text = await res.text();
          return res.status === 200 && text.includes(expect) ? undefined : `${name}: HTTP ${res.status}`;
        } catch (err) {
          return `${name}: ${err instanceof Error ? err.message : String(err)}`;
        }
      }),
    );
    const problems = answers.filter((a): a is string => a !== undefined);
    if (problems.length === 0) ok++;
    else failures.push(...problems);
  };
  const running: Promise<void>[] = [scrape()];
  const timer = setInterval(() => running.push(scrape()), SCRAPE_INTERVAL_S * 1000);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(running);
      return { ok, failures };
    },
  };
}

interface JaegerTrace {
  spans: { operationName: string }[];
}

/** Payments whose trace Jaeger holds, by their API span's start time, and those with the worker's spans too. */
async function tracesIn(jaeger: Jaeger, fromMs: number, toMs: number): Promise<{ traced: number; withWorker: number }> {
  const service = process.env.OTEL_SERVICE_NAME?.trim() || 'settleflow-api';
  const query = new URLSearchParams({
    service,
    operation: PAYMENT_OPERATION,
    start: String(fromMs * 1000),
    end: String(toMs * 1000),
    limit: '100000',
  });
  const res = await fetch(`${jaeger.uiUrl}/api/traces?${query.toString()}`);
  // Before any trace arrived the service is unknown to Jaeger, which answers that with an error.
  if (res.status !== 200) return { traced: 0, withWorker: 0 };
  const traces = ((await res.json()) as { data?: JaegerTrace[] }).data ?? [];
  return {
    traced: traces.length,
    withWorker: traces.filter((t) => t.spans.some((s) => s.operationName.startsWith('RunActivity:'))).length,
  };
}

export async function runObservability(options: {
  profile: string;
  stack: Stack;
  bench: Bench;
  /** The bench's extra processes: Jaeger joins them (sampled as `jaeger`, stopped with them). */
  extra: Record<string, ManagedProcess>;
  spec: RequestSpec;
  sustainableRate: number;
  idle: Record<string, ProcessUsage>;
  notes: string[];
}): Promise<ObservabilityResults> {
  const { profile, stack, bench, extra, spec, notes } = options;
  const rate = OBS_RATE ?? Math.max(1, Math.floor(options.sustainableRate / 2));
  const rateFrom =
    OBS_RATE !== undefined ? 'BENCH_OBS_RATE' : `half the ${options.sustainableRate}/s sustainable payments rate above`;
  const jaeger = await startJaeger({ dir: stack.config.dataDir, binary: await ensureBinary(jaegerSpec, log) });
  extra.jaeger = jaeger.server;
  log(
    `${profile} observability: ${OBS_ROUNDS} rounds of A, B, C at ${rate}/s, ${OBS_SECONDS} s each; Jaeger at ${jaeger.uiUrl}`,
  );

  const windows: (ObsWindow & { fromMs: number; toMs: number })[] = [];
  const latencies = new Map<ObsConfigName, number[]>(OBS_CONFIGS.map((c) => [c.config, []]));
  for (let round = 1; round <= OBS_ROUNDS; round++) {
    for (const { config, label } of OBS_CONFIGS) {
      await restartApps(stack, configEnv(config, jaeger));
      const apps = [stack.api, stack.worker, ...stack.moreApis, ...stack.moreWorkers];
      const listening = apps.some((app) => app?.metricsUrl !== undefined || app?.sdkMetricsUrl !== undefined);
      if (config === 'A' && listening)
        throw new Error('observability A: a metrics listener is on with every port at 0');
      // Fresh processes: JIT, pools and caches warm first, at the window's rate (in C, the warm-up's last spans may
      // leave during the window, as some always do in a steady state).
      await runAtRate(stack.apiUrls, spec, Math.max(rate, stack.apiUrls.length), WARM_UP_SECONDS);
      await sleep(SETTLE_MS);
      await bench.quiet();
      const scraping = config === 'A' ? undefined : startScraping(stack);
      const fromMs = Date.now();
      const m = await measured(bench, `${config}, round ${round}`, () =>
        runAtRate(stack.apiUrls, spec, rate, OBS_SECONDS, latencies.get(config)),
      );
      const toMs = Date.now();
      const scraped = await scraping?.stop();
      if (scraped && scraped.ok === 0)
        throw new Error(
          `observability ${config} (${label}), round ${round}: no metrics scrape answered (${scraped.failures.slice(0, 3).join('; ')})`,
        );
      if (scraped && scraped.failures.length > 0)
        notes.push(
          `${profile} observability ${config}, round ${round}: ${scraped.failures.length} failed scrapes (${scraped.failures[0]}).`,
        );
      windows.push({
        ...m,
        config,
        round,
        metricsScrapes: scraped?.ok ?? 0,
        traced: 0,
        tracedWithWorker: 0,
        fromMs,
        toMs,
      });
      log(
        `${profile} observability ${config} round ${round}: achieved ${m.achievedRate}/s, p50 ${m.latencyMs.p50} ms, p99 ${m.latencyMs.p99} ms, errors ${describeErrors(m)}, machine ${m.machine?.busyPct}% busy`,
      );
      await sleep(SETTLE_MS);
      await bench.quiet();
    }
  }

  // Every span has left the processes and reached Jaeger's store by now: count each window's traces.
  await sleep(EXPORT_DELAY_MS);
  for (const w of windows) {
    const found = await tracesIn(jaeger, w.fromMs, w.toMs);
    w.traced = found.traced;
    w.tracedWithWorker = found.withWorker;
    const where = `observability ${w.config}, round ${w.round}`;
    if (w.config !== 'C' && w.traced > 0)
      throw new Error(`${where}: tracing was off, yet Jaeger holds ${w.traced} traces`);
    if (w.config === 'C' && (w.traced === 0 || w.tracedWithWorker === 0))
      throw new Error(
        `${where}: tracing did not record (${w.traced} payments traced, ${w.tracedWithWorker} with worker spans, of ${w.completed})`,
      );
    if (w.config === 'C' && w.tracedWithWorker < 0.95 * w.completed)
      notes.push(
        `${profile} ${where}: ${w.traced} of ${w.completed} payments traced, ${w.tracedWithWorker} with worker spans (spans dropped?).`,
      );
  }
  const costs = OBS_CONFIGS.map(({ config }) =>
    obsCost(
      config,
      windows.filter((w) => w.config === config),
      latencies.get(config)!,
      options.idle,
    ),
  );
  const reading = obsReading(costs);
  log(`${profile} observability: ${reading}`);
  return {
    rate,
    rateFrom,
    seconds: OBS_SECONDS,
    rounds: OBS_ROUNDS,
    scrapeIntervalS: SCRAPE_INTERVAL_S,
    costs,
    windows: windows.map(({ fromMs: _from, toMs: _to, ...w }) => w),
    reading,
  };
}
