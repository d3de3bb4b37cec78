import autocannon from 'autocannon';

/**
 * The load tool of every scenario: autocannon, driven two ways.
 *
 * Open model (`runAtRate`): a fixed arrival rate whatever the server does. autocannon caps connections at the
 * rate and gives each connection `rate / connections` requests per second, so every connection sends one request
 * per second. To avoid one burst of `rate` requests at each second boundary, the rate is split over up to ten
 * autocannon instances started 1/K s apart: arrivals come in ≤ ⌈rate/10⌉-request groups every ≤ 100 ms.
 * Coordinated omission: a connection only sends late when its previous answer took longer than its 1 s period,
 * so in any step we accept (p99 ≤ 1 s, every request sent in its window) no send was held back by a slow answer;
 * steps where that happened are caught as "achieved < 95%" and rejected. autocannon's own correction is turned
 * off: it assumes a 1 ms expected interval at these rates and would flood its histogram with invented samples.
 *
 * Closed model (`runConnections`): N connections back to back for a duration, for the maximum rate of cheap
 * endpoints (status, the HTTP ceiling), where the question is capacity rather than latency under a given load.
 */

export interface RequestSpec {
  path: string;
  headers?: Record<string, string>;
  /** The request body, built per request (unique Tids); undefined when the supply ran out. */
  body: () => string;
  /** undefined when the answer is what the scenario expects, else a short label of what went wrong. */
  check: (status: number, body: string) => string | undefined;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  model: 'open' | 'closed';
  /** Open model: requests per second asked for. */
  targetRate?: number;
  connections: number;
  durationS: number;
  sent: number;
  /** Open model: requests sent within their window, per second of the window (the arrival rate achieved). */
  achievedRate: number;
  completed: number;
  /** Completed answers per second of wall time. */
  throughput: number;
  latencyMs: LatencySummary;
  errors: number;
  errorKinds: Record<string, number>;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(latencies: number[]): LatencySummary {
  const sorted = [...latencies].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
  return {
    p50: round(percentile(sorted, 50)),
    p95: round(percentile(sorted, 95)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
    mean: round(mean),
  };
}

/** What one run collects, across however many autocannon instances it uses. */
class Collector {
  readonly latencies: number[] = [];
  readonly sends: number[] = [];
  readonly errorKinds: Record<string, number> = {};
  completed = 0;

  error(kind: string): void {
    this.errorKinds[kind] = (this.errorKinds[kind] ?? 0) + 1;
  }

  get errors(): number {
    return Object.values(this.errorKinds).reduce((a, b) => a + b, 0);
  }

  attach(instance: autocannon.Instance): void {
    instance.on('response', (_client, _status, _bytes, responseTime) => {
      this.completed++;
      this.latencies.push(responseTime);
    });
    instance.on('reqError', (err: Error) =>
      this.error(/timed out/.test(err.message) ? 'timeout' : `socket: ${err.message}`),
    );
  }

  request(baseUrl: string, spec: RequestSpec, extra: Partial<autocannon.Options>): autocannon.Options {
    return {
      url: baseUrl,
      // The payment endpoint may wait up to its budget (10 s) by design; only a hang past that is a timeout.
      timeout: 20,
      requests: [
        {
          method: 'POST',
          path: spec.path,
          headers: { 'content-type': 'application/json', ...spec.headers },
          setupRequest: (req) => {
            this.sends.push(performance.now());
            return { ...req, body: spec.body() };
          },
          onResponse: (status, body) => {
            const problem = spec.check(status, body);
            if (problem !== undefined) this.error(problem);
          },
        },
      ],
      ...extra,
    };
  }
}

function run(options: autocannon.Options, collector: Collector, hardLimitMs: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    let guard: NodeJS.Timeout | undefined = undefined;
    // autocannon reports invalid options through the callback, synchronously.
    const instance = autocannon(options, (err, result) => {
      clearTimeout(guard);
      if (err) reject(err instanceof Error ? err : new Error(String(err)));
      else resolve(result);
    });
    collector.attach(instance);
    // A connection that keeps failing would keep an `amount` run open forever.
    guard = setTimeout(() => instance.stop(), hardLimitMs);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Open model without HTTP: starts `count` tasks at `rate` per second, each on schedule whatever the earlier ones are
 * doing, and resolves with their promises once the last has started (bench/payment-work.ts, bench/workflow-types.ts).
 */
export async function startAtRate<T>(
  rate: number,
  count: number,
  task: (n: number) => Promise<T>,
): Promise<Promise<T>[]> {
  const started = performance.now();
  const tasks: Promise<T>[] = [];
  for (let n = 0; n < count; n++) {
    const wait = started + (n * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    tasks.push(task(n));
  }
  return tasks;
}

/**
 * Open model: `rate` requests per second for `seconds`, each answer's latency recorded. Given several base URLs
 * (a stack with two APIs), the staggered groups go to them in turn, as a load balancer would spread them: the
 * arrival pattern is the same as with one.
 */
export async function runAtRate(
  baseUrls: string | string[],
  spec: RequestSpec,
  rate: number,
  seconds: number,
  /** Every answer's latency (ms) is appended here too: for percentiles pooled over several runs. */
  record?: number[],
): Promise<LoadResult> {
  const collector = new Collector();
  const groups = Math.min(10, rate);
  const share = (i: number) => Math.floor(rate / groups) + (i < rate % groups ? 1 : 0);
  const started = performance.now();
  const windowEnd = started + seconds * 1000;
  const runs: Promise<autocannon.Result>[] = [];
  const urls = typeof baseUrls === 'string' ? [baseUrls] : baseUrls;
  for (let i = 0; i < groups; i++) {
    const r = share(i);
    const offset = (i * 1000) / groups;
    runs.push(
      sleep(offset).then(() =>
        run(
          collector.request(urls[i % urls.length]!, spec, {
            connections: r,
            overallRate: r,
            amount: r * seconds,
            ignoreCoordinatedOmission: true,
          }),
          collector,
          (seconds + 40) * 1000,
        ),
      ),
    );
  }
  await Promise.all(runs);
  record?.push(...collector.latencies);
  const elapsedS = (performance.now() - started) / 1000;
  // A request counts as sent on time if it left within the window (plus the last group's start offset).
  const lateBound = windowEnd + 1000 / groups;
  const onTime = collector.sends.filter((t) => t <= lateBound).length;
  return {
    model: 'open',
    targetRate: rate,
    connections: rate,
    durationS: seconds,
    sent: collector.sends.length,
    achievedRate: Math.round((onTime / seconds) * 100) / 100,
    completed: collector.completed,
    throughput: Math.round((collector.completed / elapsedS) * 100) / 100,
    latencyMs: summarize(collector.latencies),
    errors: collector.errors,
    errorKinds: collector.errorKinds,
  };
}

/** Closed model: `connections` back-to-back requesters, for `seconds` or until `amount` requests are answered. */
export async function runConnections(
  baseUrl: string,
  spec: RequestSpec,
  connections: number,
  until: { seconds: number } | { amount: number },
): Promise<LoadResult> {
  const collector = new Collector();
  const started = performance.now();
  const extra = 'seconds' in until ? { duration: until.seconds } : { amount: until.amount };
  await run(
    collector.request(baseUrl, spec, { connections, ...extra }),
    collector,
    'seconds' in until ? (until.seconds + 40) * 1000 : 600_000,
  );
  const elapsedS = (performance.now() - started) / 1000;
  const seconds = Math.round(elapsedS * 10) / 10;
  return {
    model: 'closed',
    connections,
    durationS: seconds,
    sent: collector.sends.length,
    achievedRate: Math.round((collector.completed / elapsedS) * 100) / 100,
    completed: collector.completed,
    throughput: Math.round((collector.completed / elapsedS) * 100) / 100,
    latencyMs: summarize(collector.latencies),
    errors: collector.errors,
    errorKinds: collector.errorKinds,
  };
}
