import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { type Config, configToEnv, displayMongoUrl, TEMPORAL_CONNECTION_VARIABLES } from '../src/config';
import { ensureBinary, ferretdbSpec, projectRoot, temporalSpec } from './binaries';
import { type ManagedProcess, readyOrStopped, startProcess, waitUntilReady } from './process';
import { prepareTemporal, startFerretdb, startTemporalDevServer } from './servers';

/**
 * The whole local system, started by the same code for `npm start`, the test suite and the benchmarks:
 * Temporal dev server and FerretDB (unless configured servers are given), then the worker and the API as
 * child processes of their own, so each can be killed and restarted on its own.
 */
export interface Stack {
  config: Config;
  temporal?: ManagedProcess;
  ferretdb?: ManagedProcess;
  worker?: ManagedProcess;
  api?: ManagedProcess;
  apiUrl: string;
  /** Starts (or restarts) the worker process; the returned promise resolves once it polls its task queue. */
  startWorker(extraEnv?: Record<string, string>): Promise<ManagedProcess>;
  startApi(extraEnv?: Record<string, string>): Promise<ManagedProcess>;
  /** Stops an embedded server and starts it again on the same data (fault injection, upgrades). */
  restartServer(which: 'temporal' | 'ferretdb', downForMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface StackOptions {
  /** Start the worker and API processes too (default true). */
  apps?: boolean;
  /** Extra environment for the worker and API (e.g. short timeouts in tests). */
  appEnv?: Record<string, string>;
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
function childEnv(config: Config, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of TEMPORAL_CONNECTION_VARIABLES) delete env[name];
  return { ...env, ...configToEnv(localStackConfig(config)), ...extra };
}

/** Starts a worker process for `config`; resolves once it polls its task queue. */
export async function startWorkerProcess(
  config: Config,
  env: Record<string, string> = {},
  name = 'worker',
): Promise<ManagedProcess> {
  const logDir = path.join(config.dataDir, 'logs');
  const logFile = path.join(logDir, `${name}.log`);
  const from = logLength(logFile);
  const proc = startProcess(name, process.execPath, [path.join(distDir, 'src', 'worker.js')], {
    logDir,
    env: childEnv(config, env),
  });
  await readyOrStopped(proc, () =>
    waitUntilReady(proc, name, () => Promise.resolve(logSince(logFile, from).includes('settleflow-worker ready'))),
  );
  return proc;
}

/** Starts an API process for `config`; resolves once its /ready answers 200. */
export async function startApiProcess(
  config: Config,
  env: Record<string, string> = {},
  name = 'api',
): Promise<ManagedProcess> {
  const proc = startProcess(name, process.execPath, [path.join(distDir, 'src', 'main.js')], {
    logDir: path.join(config.dataDir, 'logs'),
    env: childEnv(config, env),
  });
  const url = `http://${config.host}:${config.port}/ready`;
  await readyOrStopped(proc, () => waitUntilReady(proc, name, async () => (await fetch(url)).status === 200));
  return proc;
}

export async function startStack(requested: Config, options: StackOptions = {}): Promise<Stack> {
  const config = localStackConfig(requested);
  const log = options.log ?? ((line: string) => console.log(line));
  const binaries: { temporal?: string; ferretdb?: string } = {};
  const apiUrl = `http://${config.host}:${config.port}`;

  const stack: Stack = {
    config,
    apiUrl,
    async startWorker(extraEnv = {}) {
      await stack.worker?.stop();
      stack.worker = await startWorkerProcess(config, { ...options.appEnv, ...extraEnv });
      return stack.worker;
    },
    async startApi(extraEnv = {}) {
      await stack.api?.stop();
      stack.api = await startApiProcess(config, { ...options.appEnv, ...extraEnv });
      return stack.api;
    },
    async restartServer(which, downForMs = 0) {
      const binary = binaries[which];
      if (!binary) throw new Error(`${which} is not embedded: nothing to restart`);
      await stack[which]?.stop();
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      stack[which] =
        which === 'temporal' ? await startTemporalDevServer(config, binary) : await startFerretdb(config, binary);
    },
    async stop() {
      // Apps first, so nothing is mid-call when the servers go away; servers in parallel after that.
      await Promise.all([stack.api?.stop(), stack.worker?.stop()]);
      await Promise.all([stack.temporal?.stop(), stack.ferretdb?.stop()]);
    },
  };

  try {
    // Build sequentially (two Go builds at once are slower on two cores), then start both servers together.
    if (config.temporal.embedded) binaries.temporal = await ensureBinary(temporalSpec, log);
    if (config.mongo.embedded) binaries.ferretdb = await ensureBinary(ferretdbSpec, log);
    [stack.temporal, stack.ferretdb] = await Promise.all([
      binaries.temporal ? startTemporalDevServer(config, binaries.temporal) : undefined,
      binaries.ferretdb ? startFerretdb(config, binaries.ferretdb) : undefined,
    ]);
    log(
      `[stack] Temporal ${config.temporal.embedded ? 'dev server started' : 'cluster'} at ${config.temporal.address}`,
    );
    log(
      `[stack] MongoDB wire ${config.mongo.embedded ? '(FerretDB) started' : 'server'} at ${displayMongoUrl(config.mongo.url)}`,
    );

    const added = await prepareTemporal(config);
    if (added.length > 0) log(`[stack] registered search attributes: ${added.join(', ')}`);

    if (options.apps !== false) {
      await stack.startWorker();
      log('[stack] worker polling');
      await stack.startApi();
      log(`[stack] API ready at ${apiUrl}`);
    }
    return stack;
  } catch (err) {
    await stack.stop();
    throw err;
  }
}
