import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { Connection } from '@temporalio/client';
import type { Config } from '../src/config';
import { projectRoot } from '../src/paths';
import { temporalConnectionOptions } from '../src/temporal/connection-options';
import { ensureNamespace, ensureSearchAttributes } from '../src/temporal/setup';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { ensureBinary, jaegerSpec, stripeMockBundledFixtures, stripeMockSpec } from './binaries';
import { freePort } from './ports';
import type { Postgres } from './postgres';
import {
  type ManagedProcess,
  portIsOpen,
  readyOrStopped,
  splitHostPort,
  startProcess,
  waitUntilReady,
} from './process';

/**
 * The two real servers of the embedded stack. When TEMPORAL_ADDRESS or MONGODB_URL is set, that server is used
 * as it is and nothing is started for it (a production cluster, a real MongoDB, or a stack already running).
 */

async function refuseBusyPort(what: string, host: string, port: number, envVar: string): Promise<void> {
  if (await portIsOpen(host, port)) {
    throw new Error(
      `${what} cannot start: ${host}:${port} is already in use. Stop whatever holds it, or set ${envVar} to use ` +
        'the server that is already there.',
    );
  }
}

/** Dynamic config SettleFlow relies on, given to the dev server and to every service of the cluster profile. */
export const TEMPORAL_DYNAMIC_CONFIG = {
  // Update-with-start answers the payment request in one round trip.
  'frontend.enableExecuteMultiOperation': true,
  'frontend.enableUpdateWorkflowExecution': true,
  // Every workflow and activity task a payment schedules is a transfer task of the dev server's single history
  // shard, and the transfer queue is read at most 20 times a second by default: past ~5 payments/s each hop
  // waited for the next read (~25–40 ms per task in the recorded histories, +150 ms per payment).
  'history.transferProcessorMaxPollRPS': 1000,
} as const;

/**
 * Whether every search attribute lookup re-reads the namespace and the attributes from the database: on, search
 * attributes that `setup` adds at runtime are usable at once; off, once each service's cache is refreshed (up to a
 * minute). Each payment's start and status upserts look them up, and on the dev server those reads were about a
 * tenth of its CPU (BENCHMARKS.md, issue 19). The dev server is started with our search attributes in its namespace,
 * so it runs without (the CLI turns it on by default); the cluster profile's services get them from `setup` a second
 * after they start, so it keeps it. Production leaves it unset (docs/deploying.md).
 */
const FORCE_SEARCH_ATTRIBUTE_REFRESH = 'system.forceSearchAttributesCacheRefreshOnRead';
export const DEV_SERVER_DYNAMIC_CONFIG = { ...TEMPORAL_DYNAMIC_CONFIG, [FORCE_SEARCH_ATTRIBUTE_REFRESH]: false };
export const CLUSTER_DYNAMIC_CONFIG = { ...TEMPORAL_DYNAMIC_CONFIG, [FORCE_SEARCH_ATTRIBUTE_REFRESH]: true };

/** `metricsPort`: where its Prometheus `/metrics` answers, on the host it listens on (docs/metrics.md). */
export async function startTemporalDevServer(
  config: Config,
  binary: string,
  metricsPort?: number,
): Promise<ManagedProcess> {
  const { host, port } = splitHostPort(config.temporal.address);
  await refuseBusyPort('Temporal dev server', host, port, 'TEMPORAL_ADDRESS');
  const uiPort = config.temporal.uiPort;
  const proc = startProcess(
    'temporal',
    binary,
    [
      'server',
      'start-dev',
      '--ip',
      host,
      '--port',
      String(port),
      '--ui-ip',
      host,
      '--ui-port',
      String(uiPort),
      // The SQLite file makes workflow histories survive a restart of the stack.
      '--db-filename',
      path.join(config.dataDir, 'temporal.db'),
      // SQLite's defaults (rollback journal, fsync on every commit) serialize the dev server on the disk. WAL with
      // synchronous=NORMAL still survives any process crash (what the chaos run does to it); only a power cut
      // could lose the last commits, which a local stack can afford. Production runs a real Temporal cluster.
      '--sqlite-pragma',
      'journal_mode=WAL',
      '--sqlite-pragma',
      'synchronous=NORMAL',
      '--namespace',
      config.temporal.namespace,
      // Created with the namespace (an existing one is left as it is: see startStack), so every cache has them.
      ...SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${key.type}`]),
      '--log-level',
      'warn',
      // Left unset it would listen on a random port nobody knows: set, so the stack can say where it is.
      '--metrics-port',
      String(metricsPort ?? (await freePort())),
      ...Object.entries(DEV_SERVER_DYNAMIC_CONFIG).flatMap(([key, value]) => [
        '--dynamic-config-value',
        `${key}=${String(value)}`,
      ]),
    ],
    { logDir: path.join(config.dataDir, 'logs') },
  );
  await readyOrStopped(proc, () =>
    waitUntilReady(proc, 'Temporal dev server', async () => {
      if (!(await portIsOpen(host, port))) return false;
      // The dev server we start listens in plaintext (loadConfig refuses TLS settings without TEMPORAL_ADDRESS).
      const connection = await Connection.connect({ address: config.temporal.address, connectTimeout: '2s' });
      try {
        await connection.workflowService.describeNamespace({ namespace: config.temporal.namespace });
        return true;
      } finally {
        await connection.close();
      }
    }),
  );
  return proc;
}

/** Namespace and search attributes, on the embedded server or on a configured cluster alike. */
export async function prepareTemporal(config: Config): Promise<string[]> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '10s' });
  try {
    await ensureNamespace(connection, config.temporal.namespace);
    return await ensureSearchAttributes(connection, config.temporal.namespace);
  } finally {
    await connection.close();
  }
}

/**
 * Where FerretDB keeps the documents: `sqlite`, one SQLite file per database under the data dir (patched for
 * SettleFlow's `_id` reads and key-range lists, tools/ferretdb/patches); `postgresql`, a database `ferretdb` on a
 * PostgreSQL server given to it (the cluster profile's own, tools/postgres.ts). docs/ferretdb-backends.md compares
 * the two on the status and dashboard reads.
 */
export type FerretdbBackend = 'sqlite' | 'postgresql';

export const FERRETDB_BACKENDS: readonly FerretdbBackend[] = ['sqlite', 'postgresql'];

const DEFAULT_FERRETDB_BACKEND: Record<'dev' | 'cluster', FerretdbBackend> = { dev: 'sqlite', cluster: 'sqlite' };

/**
 * The backend named by FERRETDB_BACKEND; unset, the profile's default: `sqlite` on both (the dev profile has no
 * PostgreSQL; on the cluster profile SQLite measured faster on SettleFlow's reads, docs/ferretdb-backends.md).
 * `postgresql` needs the cluster profile's PostgreSQL (tools/stack.ts refuses it elsewhere).
 */
export function ferretdbBackendFromEnv(
  profile: 'dev' | 'cluster',
  env: Record<string, string | undefined> = process.env,
): FerretdbBackend {
  const raw = env.FERRETDB_BACKEND?.trim() || DEFAULT_FERRETDB_BACKEND[profile];
  if (!FERRETDB_BACKENDS.includes(raw as FerretdbBackend))
    throw new Error(`FERRETDB_BACKEND must be ${FERRETDB_BACKENDS.join(' or ')}, got "${raw}"`);
  return raw as FerretdbBackend;
}

/** The database FerretDB's PostgreSQL backend keeps its documents in (one schema per MongoDB database). */
export const FERRETDB_POSTGRES_DATABASE = 'ferretdb';

/** The PostgreSQL server the `postgresql` backend uses; tools/postgres.ts's `Postgres` is one. */
export type FerretdbPostgres = Pick<Postgres, 'host' | 'port' | 'user' | 'password' | 'query'>;

export interface FerretdbOptions {
  /** Default sqlite. */
  backend?: FerretdbBackend;
  /** Required by the postgresql backend: where its database is (created on first start). */
  postgres?: FerretdbPostgres;
}

/**
 * The URL FerretDB's PostgreSQL backend connects with. Its connection pool is capped at 20 (FerretDB's default is
 * 50): the cluster's PostgreSQL also serves five Temporal services (tools/postgres.ts sizes max_connections).
 */
function ferretdbPostgresUrl(postgres: FerretdbPostgres): string {
  const url = new URL(`postgres://${postgres.host}:${postgres.port}/${FERRETDB_POSTGRES_DATABASE}`);
  url.username = postgres.user;
  url.password = postgres.password;
  url.searchParams.set('pool_max_conns', '20');
  return url.href;
}

/** Creates the `ferretdb` database on first start (FerretDB creates its schemas and tables in it itself). */
async function ensureFerretdbDatabase(postgres: FerretdbPostgres): Promise<void> {
  const exists = await postgres.query(
    'postgres',
    `SELECT count(*) FROM pg_database WHERE datname = '${FERRETDB_POSTGRES_DATABASE}'`,
  );
  if (exists === '0') await postgres.query('postgres', `CREATE DATABASE ${FERRETDB_POSTGRES_DATABASE}`);
}

/** Listens where `mongo.url` says; its SQLite files and its log under `dataDir` (`ferretdb/`, `logs/`). */
export async function startFerretdb(
  config: { mongo: Pick<Config['mongo'], 'url'>; dataDir: string },
  binary: string,
  options: FerretdbOptions = {},
): Promise<ManagedProcess> {
  const url = new URL(config.mongo.url);
  const host = url.hostname;
  const port = Number(url.port || 27017);
  const backend = options.backend ?? 'sqlite';
  await refuseBusyPort('FerretDB', host, port, 'MONGODB_URL');
  let backendArgs: string[];
  let env: NodeJS.ProcessEnv | undefined;
  if (backend === 'postgresql') {
    if (!options.postgres) throw new Error("FerretDB's postgresql backend needs a PostgreSQL server");
    await ensureFerretdbDatabase(options.postgres);
    backendArgs = ['--handler', 'postgresql'];
    // The URL carries the password: in the environment, which only the process's owner can read, not on the
    // command line, which every local user can (tools/ferretdb/main.go reads it from there alone).
    env = { ...process.env, FERRETDB_POSTGRESQL_URL: ferretdbPostgresUrl(options.postgres) };
  } else {
    backendArgs = ['--handler', 'sqlite', '--sqlite-dir', path.join(config.dataDir, 'ferretdb')];
  }
  const proc = startProcess(
    'ferretdb',
    binary,
    ['--listen-addr', `${host}:${port}`, ...backendArgs, '--log-level', 'error'],
    { logDir: path.join(config.dataDir, 'logs'), env },
  );
  await readyOrStopped(proc, () =>
    waitUntilReady(proc, 'FerretDB', async () => {
      if (!(await portIsOpen(host, port))) return false;
      const client = new MongoClient(config.mongo.url, { serverSelectionTimeoutMS: 2000 });
      try {
        await client.connect();
        return (await client.db('admin').command({ ping: 1 })).ok === 1;
      } finally {
        await client.close();
      }
    }),
  );
  return proc;
}

/** A running stripe-mock, Stripe's API simulator: where it answers (plain HTTP) and how to stop it. */
export interface StripeMock {
  /** `http://host:port`, the base of its `/v1/…` API. */
  url: string;
  host: string;
  port: number;
  server: ManagedProcess;
  /** Stops the process (by its pid: SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
}

export interface StripeMockOptions {
  /** A data dir: the log goes to `logs/stripe-mock.log` under it, beside the stack's. */
  dir: string;
  /** Default: the cached build of tools/binaries.ts, built first if needed (with progress on `log`). */
  binary?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default: a free one. */
  port?: number;
  log?: (line: string) => void;
  /**
   * Fields to change in stripe-mock's own fixtures, per API object (`{ payment_intent: { status:
   * 'requires_capture' } }`): every answer about that object then has them, unless the request sets the same field.
   * This is how stripe-mock plays an approving processor (or one that challenges, or one still processing): its
   * bundled PaymentIntent says `requires_payment_method` to every call. Default: its bundled fixtures as they are.
   */
  fixtures?: Record<string, Record<string, unknown>>;
  /** Names its log file (`logs/{name}.log`), for a second instance beside the first; default `stripe-mock`. */
  name?: string;
}

/**
 * Writes stripe-mock's bundled fixtures with `changes` applied (a field of `null` sets it to null) beside its log,
 * under a name that says what they hold, and returns the file's path.
 */
function derivedStripeMockFixtures(dir: string, changes: Record<string, Record<string, unknown>>): string {
  const fixtures = stripeMockBundledFixtures();
  for (const [resource, fields] of Object.entries(changes)) {
    const bundled = fixtures.resources[resource];
    if (!bundled) throw new Error(`stripe-mock has no fixture for ${resource}`);
    fixtures.resources[resource] = { ...bundled, ...fields };
  }
  const text = JSON.stringify(fixtures);
  const file = path.join(
    dir,
    'stripe-mock',
    `fixtures-${createHash('sha256').update(text).digest('hex').slice(0, 16)}.json`,
  );
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/**
 * Starts stripe-mock on loopback and resolves once it answers. It keeps nothing between requests (each answer is
 * built from the request and its bundled fixtures), so one instance can serve any number of tests at once.
 */
export async function startStripeMock(options: StripeMockOptions): Promise<StripeMock> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? (await ensureBinary(stripeMockSpec, options.log));
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const url = `http://${hostInUrl}:${port}`;
  const fixtures = options.fixtures ? ['-fixtures', derivedStripeMockFixtures(options.dir, options.fixtures)] : [];
  const server = startProcess(
    options.name ?? 'stripe-mock',
    binary,
    [
      '-http-addr',
      `${hostInUrl}:${port}`,
      // With -http-addr alone it also opens its HTTPS listener, on every interface at 12112 (or at $PORT, which
      // the tests set to the API's port). Port 0 on loopback keeps that listener, which nothing uses, out of the way.
      '-https-addr',
      `${hostInUrl}:0`,
      ...fixtures,
    ],
    // stripe-mock prints every request's parameters, card number and CVC included, on stdout; its errors go to stderr.
    { logDir: path.join(options.dir, 'logs'), discardStdout: true },
  );
  // Any answer (401 without a key) will do, as long as it is stripe-mock's: it names itself in a header.
  await readyOrStopped(server, () =>
    waitUntilReady(server, 'stripe-mock', async () => (await fetch(url)).headers.has('stripe-mock-version')),
  );
  return { url, host, port, server, stop: () => server.stop() };
}

/**
 * SettleFlow's trace viewer (docs/tracing.md): static files in the source tree, found from the project root, so
 * that the compiled tools in dist/ serve the same ones.
 */
export const JAEGER_UI_DIR = path.join(projectRoot, 'tools', 'jaeger', 'ui');

/** A running Jaeger (docs/tracing.md): where spans go in and where traces are read. */
export interface Jaeger {
  /** OTLP over HTTP, the base URL that OTEL_EXPORTER_OTLP_ENDPOINT takes (`/v1/traces` is added by the exporter). */
  otlpHttpUrl: string;
  /** OTLP over gRPC, `host:port`. */
  otlpGrpcAddress: string;
  /** The trace viewer, and the HTTP API under it (`/api/traces/{traceId}`, `/api/traces?service=…`, `/api/services`). */
  uiUrl: string;
  server: ManagedProcess;
  stop(): Promise<void>;
}

export interface JaegerOptions {
  /** A data dir: its config goes to `jaeger/config.yaml` and its log to `logs/jaeger.log` under it. */
  dir: string;
  /** Default: the cached build of tools/binaries.ts, built first if needed (with progress on `log`). */
  binary?: string;
  /** Default 127.0.0.1: every listener binds there. */
  host?: string;
  /** The UI's port; default a free one. */
  uiPort?: number;
  log?: (line: string) => void;
}

/**
 * Starts Jaeger's all-in-one binary with traces in memory (gone when it stops) and resolves once its query API
 * answers. Since v2 the binary is an OpenTelemetry Collector configured by a YAML file (its embedded all-in-one
 * configuration binds fixed ports): ours binds only the OTLP receivers and the query service, each on a free port
 * of `host`, and turns off the collector's own metrics listener (fixed port 8888), so that several stacks can run
 * one each. The query service serves SettleFlow's trace viewer (JAEGER_UI_DIR) and the query API on one origin.
 */
export async function startJaeger(options: JaegerOptions): Promise<Jaeger> {
  const host = options.host ?? '127.0.0.1';
  const binary = options.binary ?? (await ensureBinary(jaegerSpec, options.log));
  const hostInUrl = host.includes(':') ? `[${host}]` : host;
  const [otlpGrpc, otlpHttp, queryGrpc] = [await freePort(), await freePort(), await freePort()];
  const uiPort = options.uiPort ?? (await freePort());
  const at = (port: number) => `${hostInUrl}:${port}`;
  // JSON is YAML: the collector's file provider reads it as such.
  const config = {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
      },
      telemetry: { metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      jaeger_storage: { backends: { memstore: { memory: { max_traces: 100_000 } } } },
      jaeger_query: {
        storage: { traces: 'memstore' },
        http: { endpoint: at(uiPort) },
        grpc: { endpoint: at(queryGrpc) },
        // The Go module's build has no web UI: the query service serves SettleFlow's trace viewer instead.
        ui: { assets_path: JAEGER_UI_DIR },
        // On by default in the extension: it would trace its own queries to an OTLP receiver at the SDK's default
        // address (localhost:4317), dialling every few seconds where nothing listens.
        enable_tracing: false,
      },
    },
    receivers: { otlp: { protocols: { grpc: { endpoint: at(otlpGrpc) }, http: { endpoint: at(otlpHttp) } } } },
    // A short batch window: a trace shows in the UI (and to a test) within a moment of its last span.
    processors: { batch: { timeout: '200ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'memstore' } },
  };
  const configFile = path.join(options.dir, 'jaeger', 'config.yaml');
  mkdirSync(path.dirname(configFile), { recursive: true });
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`);
  const server = startProcess('jaeger', binary, ['--config', `file:${configFile}`], {
    logDir: path.join(options.dir, 'logs'),
  });
  const uiUrl = `http://${at(uiPort)}`;
  await readyOrStopped(server, () =>
    waitUntilReady(server, 'Jaeger', async () => (await fetch(`${uiUrl}/api/services`)).status === 200),
  );
  return {
    otlpHttpUrl: `http://${at(otlpHttp)}`,
    otlpGrpcAddress: at(otlpGrpc),
    uiUrl,
    server,
    stop: () => server.stop(),
  };
}
