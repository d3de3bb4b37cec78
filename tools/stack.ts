import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Config, configToEnv, displayMongoUrl, TEMPORAL_CONNECTION_VARIABLES } from '../src/config';
import { ensureBinary, ensureClusterBinaries, ferretdbSpec, jaegerSpec, projectRoot, temporalSpec } from './binaries';
import { freePort } from './ports';
import { type ManagedProcess, readyOrStopped, splitHostPort, startProcess, waitUntilReady } from './process';
import {
  type FerretdbBackend,
  type FerretdbOptions,
  ferretdbBackendFromEnv,
  type Jaeger,
  prepareTemporal,
  startFerretdb,
  startJaeger,
  startTemporalDevServer,
} from './servers';
import { startTemporalCluster, type TemporalCluster } from './temporal-cluster';

/**
 * Which Temporal the embedded stack runs: `dev`, the CLI's single-process dev server on SQLite; `cluster`, the
 * production-shaped cluster of tools/temporal-cluster.ts (separate frontend, matching, worker and two history
 * processes on PostgreSQL). Either way a configured TEMPORAL_ADDRESS is used as it is and nothing is started.
 */
export type StackProfile = 'dev' | 'cluster';

/** The profile named by SETTLEFLOW_STACK (default dev): how `npm test` and the benchmarks are pointed at the cluster. */
export function stackProfileFromEnv(env: Record<string, string | undefined> = process.env): StackProfile {
  const raw = env.SETTLEFLOW_STACK?.trim() || 'dev';
  if (raw !== 'dev' && raw !== 'cluster') throw new Error(`SETTLEFLOW_STACK must be dev or cluster, got "${raw}"`);
  return raw;
}

/**
 * The whole local system, started by the same code for `npm start`, the test suite and the benchmarks:
 * Temporal (dev server or cluster) and FerretDB (unless configured servers are given), then the worker and the API
 * as child processes of their own, so each can be killed and restarted on its own.
 */
/** A worker or API process, and where its Prometheus metrics answer (docs/metrics.md). */
export interface AppProcess extends ManagedProcess {
  /** Its own `/metrics` (prom-client); undefined when turned off. */
  metricsUrl?: string;
  /** A worker's Temporal SDK metrics (Core's exporter); undefined for an API, or when turned off. */
  sdkMetricsUrl?: string;
}

export interface Stack {
  config: Config;
  profile: StackProfile;
  /** The dev server's process (dev profile); the cluster's frontend process (cluster profile). */
  temporal?: ManagedProcess;
  /** The cluster profile's Temporal: every service process, PostgreSQL, the UI. */
  cluster?: TemporalCluster;
  ferretdb?: ManagedProcess;
  /** Where the embedded FerretDB keeps its documents (unset when MONGODB_URL names a server). */
  ferretdbBackend?: FerretdbBackend;
  worker?: AppProcess;
  api?: AppProcess;
  /** The trace backend the stack runs when asked (`jaeger` option; docs/tracing.md); the apps export to it. */
  jaeger?: Jaeger;
  /** The embedded Temporal server's `/metrics`: the dev server's, or every cluster service's. */
  temporalMetricsUrls: string[];
  apiUrl: string;
  /** Further worker and API processes beside the first (`replicas` > 1), and every API's URL, the first's first. */
  moreWorkers: AppProcess[];
  moreApis: AppProcess[];
  apiUrls: string[];
  /** Starts (or restarts) the worker process; the returned promise resolves once it polls its task queue. */
  startWorker(extraEnv?: Record<string, string>): Promise<AppProcess>;
  startApi(extraEnv?: Record<string, string>): Promise<AppProcess>;
  /**
   * Stops an embedded server and starts it again on the same data (fault injection, upgrades). On the cluster
   * profile `temporal` is its frontend; `stack.cluster.restartService` reaches every other process.
   */
  restartServer(which: 'temporal' | 'ferretdb', downForMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Start the worker and API processes too (default true). */
  apps?: boolean;
  /** Extra environment for the worker and API (e.g. short timeouts in tests). */
  appEnv?: Record<string, string>;
  /** Default dev. */
  profile?: StackProfile;
  /** The embedded FerretDB's backend; default FERRETDB_BACKEND, else the profile's (ferretdbBackendFromEnv). */
  ferretdbBackend?: FerretdbBackend;
  /** Run Jaeger and point the worker and API at it (OTEL_EXPORTER_OTLP_ENDPOINT), unless `appEnv` names another. */
  jaeger?: boolean;
  /** How many worker and API processes (each); default 1. The APIs after the first listen on free ports. */
  replicas?: number;
  log?: (line: string) => void;
}

const distDir = path.join(projectRoot, 'dist');

function logLength(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Reads what a process wrote to its log since `offset`: log files are appended to across restarts. */
function logSince(file: string, offset: number): string {
  const size = logLength(file);
  if (size <= offset) return '';
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The local stack is where webhook receivers run on this machine (a merchant trying the sandbox against their
 * own laptop, the tests' listeners): unless WEBHOOK_ALLOW_PRIVATE_TARGETS was set either way, its sandbox webhooks
 * may go to loopback and private addresses. Never in production; live webhooks stay public-only whatever it says
 * (docs/webhooks.md).
 */
export function localStackConfig(config: Config): Config {
  if (config.env === 'production' || config.webhook.allowPrivateTargets !== undefined) return config;
  return { ...config, webhook: { ...config.webhook, allowPrivateTargets: true } };
}

/**
 * A child's environment: this process's, with `config` on top. Temporal's connection settings come from `config`
 * alone: TLS variables this process inherited but `config` does not use (a stack with a dev server of its own,
 * started from a shell set up for a secured cluster) must not reach a child that connects to that dev server.
 */
export function childEnv(config: Config, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of TEMPORAL_CONNECTION_VARIABLES) delete env[name];
  return { ...env, ...configToEnv(localStackConfig(config)), ...extra };
}

/**
 * Free ports for a process's metrics listeners (each process of a stack, and each stack on a machine, needs its
 * own), unless `env` names them; a port of 0 there means off. Resolves with the env to add and the URLs.
 */
async function metricsPorts(
  config: Config,
  env: Record<string, string>,
  names: string[],
): Promise<{ env: Record<string, string>; urls: (string | undefined)[] }> {
  const host = config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host;
  const ports = await Promise.all(names.map(async (name) => env[name] ?? String(await freePort())));
  return {
    env: Object.fromEntries(names.map((name, i) => [name, ports[i]!])),
    urls: ports.map((port) => (port === '0' ? undefined : `http://${host}:${port}/metrics`)),
  };
}

/** Starts a worker process for `config`; resolves once it polls its task queue. */
export async function startWorkerProcess(
  config: Config,
  env: Record<string, string> = {},
  name = 'worker',
): Promise<AppProcess> {
  const logDir = path.join(config.dataDir, 'logs');
  const logFile = path.join(logDir, `${name}.log`);
  const from = logLength(logFile);
  const metrics = await metricsPorts(config, env, ['WORKER_METRICS_PORT', 'WORKER_SDK_METRICS_PORT']);
  const proc = startProcess(name, process.execPath, [path.join(distDir, 'src', 'worker.js')], {
    logDir,
    env: childEnv(config, { ...env, ...metrics.env }),
  });
  await readyOrStopped(proc, () =>
    waitUntilReady(proc, name, () => Promise.resolve(logSince(logFile, from).includes('settleflow-worker ready'))),
  );
  return { ...proc, metricsUrl: metrics.urls[0], sdkMetricsUrl: metrics.urls[1] };
}

/** Starts an API process for `config`; resolves once its /ready answers 200. */
export async function startApiProcess(
  config: Config,
  env: Record<string, string> = {},
  name = 'api',
): Promise<AppProcess> {
  const metrics = await metricsPorts(config, env, ['API_METRICS_PORT']);
  const proc = startProcess(name, process.execPath, [path.join(distDir, 'src', 'main.js')], {
    logDir: path.join(config.dataDir, 'logs'),
    env: childEnv(config, { ...env, ...metrics.env }),
  });
  const url = `http://${config.host}:${config.port}/ready`;
  await readyOrStopped(proc, () => waitUntilReady(proc, name, async () => (await fetch(url)).status === 200));
  return { ...proc, metricsUrl: metrics.urls[0] };
}

/**
 * Namespace and search attributes. A fresh cluster learns of a new namespace in each service's namespace cache
 * (refreshed every few seconds), so there the registration is retried until the whole of it went through.
 */
async function prepareTemporalWithRetry(config: Config, retry: boolean): Promise<string[]> {
  const deadline = Date.now() + (retry ? 60_000 : 0);
  const added = new Set<string>();
  for (;;) {
    try {
      for (const name of await prepareTemporal(config)) added.add(name);
      return [...added];
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

export async function startStack(requested: Config, options: StackOptions = {}): Promise<Stack> {
  // Reassigned once the cluster is up (its client certificate); the closures below read the variable, not a copy.
  let config = localStackConfig(requested);
  const log = options.log ?? ((line: string) => console.log(line));
  const profile = options.profile ?? 'dev';
  const binaries: { temporal?: string; ferretdb?: string } = {};
  const ferretdbBackend = options.ferretdbBackend ?? ferretdbBackendFromEnv(profile);
  if (ferretdbBackend === 'postgresql' && config.mongo.embedded && !(profile === 'cluster' && config.temporal.embedded))
    throw new Error(
      'FERRETDB_BACKEND=postgresql runs FerretDB on the PostgreSQL of the cluster profile (SETTLEFLOW_STACK=cluster, ' +
        'TEMPORAL_ADDRESS unset)',
    );
  // On the cluster's PostgreSQL (known once the cluster is up) or on its SQLite files.
  const ferretdbOptions = (): FerretdbOptions => ({ backend: ferretdbBackend, postgres: stack.cluster?.postgres });
  const apiUrl = `http://${config.host}:${config.port}`;
  // The dev server's metrics port, kept across its restarts.
  const temporalMetricsPort = await freePort();
  // Every app's environment: the caller's, over the exporter settings of the stack's own Jaeger once it runs.
  let appEnv: Record<string, string> = { ...options.appEnv };

  const stack: Stack = {
    config,
    profile,
    apiUrl,
    temporalMetricsUrls: [],
    moreWorkers: [],
    moreApis: [],
    apiUrls: [apiUrl],
    async startWorker(extraEnv = {}) {
      await stack.worker?.stop();
      stack.worker = await startWorkerProcess(config, { ...appEnv, ...extraEnv });
      return stack.worker;
    },
    async startApi(extraEnv = {}) {
      await stack.api?.stop();
      stack.api = await startApiProcess(config, { ...appEnv, ...extraEnv });
      return stack.api;
    },
    async restartServer(which, downForMs = 0) {
      if (which === 'temporal' && stack.cluster) {
        await stack.cluster.restartService('frontend', { downForMs });
        stack.temporal = stack.cluster.processes.get('frontend');
        return;
      }
      const binary = binaries[which];
      if (!binary) throw new Error(`${which} is not embedded: nothing to restart`);
      await stack[which]?.stop();
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      stack[which] =
        which === 'temporal'
          ? await startTemporalDevServer(config, binary, temporalMetricsPort)
          : await startFerretdb(config, binary, ferretdbOptions());
    },
    async stop() {
      // Apps first, so nothing is mid-call when the servers go away; servers in parallel after that.
      const apps = [stack.api, stack.worker, ...stack.moreApis, ...stack.moreWorkers];
      await Promise.all(apps.flatMap((proc) => (proc ? [proc.stop()] : [])));
      // FerretDB on the cluster's PostgreSQL goes before it.
      if (ferretdbBackend === 'postgresql') await stack.ferretdb?.stop();
      await Promise.all([
        stack.cluster ? stack.cluster.stop() : stack.temporal?.stop(),
        stack.ferretdb?.stop(),
        stack.jaeger?.stop(),
      ]);
    },
  };

  try {
    // Build sequentially (two Go builds at once are slower on two cores), then start both servers together.
    const clusterBinaries =
      config.temporal.embedded && profile === 'cluster' ? await ensureClusterBinaries(log) : undefined;
    if (config.temporal.embedded && !clusterBinaries) binaries.temporal = await ensureBinary(temporalSpec, log);
    if (config.mongo.embedded) {
      binaries.ferretdb = await ensureBinary(ferretdbSpec, log);
      stack.ferretdbBackend = ferretdbBackend;
    }
    const startFerret = (binary: string) =>
      startFerretdb(config, binary, ferretdbOptions()).then((proc) => (stack.ferretdb = proc));
    const jaegerBinary = options.jaeger ? await ensureBinary(jaegerSpec, log) : undefined;
    const { host: temporalHost, port: temporalPort } = splitHostPort(config.temporal.address);
    // Settled, not raced: when one server fails to start, the others are up (or failed) before the stack stops
    // them, none is left running unseen.
    const started = await Promise.allSettled([
      binaries.temporal
        ? startTemporalDevServer(config, binaries.temporal, temporalMetricsPort).then((proc) => {
            stack.temporal = proc;
            stack.temporalMetricsUrls = [`http://${temporalHost}:${temporalMetricsPort}/metrics`];
          })
        : undefined,
      binaries.ferretdb && ferretdbBackend === 'sqlite' ? startFerret(binaries.ferretdb) : undefined,
      jaegerBinary
        ? startJaeger({ dir: config.dataDir, binary: jaegerBinary }).then((jaeger) => {
            stack.jaeger = jaeger;
            appEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpUrl, ...appEnv };
          })
        : undefined,
      clusterBinaries
        ? startTemporalCluster({
            dir: path.join(config.dataDir, 'temporal-cluster'),
            dataRoot: config.dataDir,
            logDir: path.join(config.dataDir, 'logs'),
            host: temporalHost,
            frontendPort: temporalPort,
            uiPort: config.temporal.uiPort,
            namespace: config.temporal.namespace,
            binaries: clusterBinaries,
            log,
          }).then(async (cluster) => {
            stack.cluster = cluster;
            // FerretDB on the cluster's PostgreSQL starts once the cluster is up (it starts in a second).
            if (binaries.ferretdb && ferretdbBackend === 'postgresql') await startFerret(binaries.ferretdb);
          })
        : undefined,
    ]);
    for (const outcome of started) if (outcome.status === 'rejected') throw outcome.reason;
    if (stack.cluster) {
      stack.temporal = stack.cluster.processes.get('frontend');
      stack.temporalMetricsUrls = [...stack.cluster.metricsUrls.values()];
      // Its frontend requires mTLS: the stack's own calls and every process it starts present the client certificate
      // (the children read it as TEMPORAL_TLS_*, with TEMPORAL_ADDRESS, through configToEnv).
      config = { ...config, temporal: { ...config.temporal, tls: stack.cluster.clientTls } };
      stack.config = config;
    }
    const temporalKind = !config.temporal.embedded
      ? 'cluster'
      : stack.cluster
        ? 'cluster started'
        : 'dev server started';
    log(`[stack] Temporal ${temporalKind} at ${config.temporal.address}`);
    log(
      `[stack] MongoDB wire ${config.mongo.embedded ? `(FerretDB on ${ferretdbBackend}) started` : 'server'} at ${displayMongoUrl(config.mongo.url)}`,
    );

    if (stack.jaeger) log(`[stack] Jaeger started: UI and API at ${stack.jaeger.uiUrl}`);
    const added = await prepareTemporalWithRetry(config, stack.cluster !== undefined);
    if (added.length > 0) log(`[stack] registered search attributes: ${added.join(', ')}`);
    // A dev server whose namespace predates them (a data dir of an older version) caches search attributes for up to
    // a minute: started again, every service reads them afresh (tools/servers.ts, FORCE_SEARCH_ATTRIBUTE_REFRESH).
    if (added.length > 0 && binaries.temporal) {
      await stack.restartServer('temporal');
      log('[stack] Temporal dev server restarted, so that every service knows them');
    }

    if (options.apps !== false) {
      const replicas = options.replicas ?? 1;
      await stack.startWorker();
      for (let i = 2; i <= replicas; i++)
        stack.moreWorkers.push(await startWorkerProcess(config, { ...appEnv }, `worker-${i}`));
      log(`[stack] ${replicas === 1 ? 'worker' : `${replicas} workers`} polling`);
      await stack.startApi();
      for (let i = 2; i <= replicas; i++) {
        const port = await freePort();
        stack.moreApis.push(await startApiProcess({ ...config, port }, { ...appEnv }, `api-${i}`));
        stack.apiUrls.push(`http://${config.host}:${port}`);
      }
      log(`[stack] API ready at ${stack.apiUrls.join(', ')}`);
    }
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}
