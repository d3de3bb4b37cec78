import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { stringify } from 'yaml';
import type { TemporalTlsConfig } from '../src/config';
import { temporalTlsOptions } from '../src/temporal/connection-options';
import { ensureNamespace } from '../src/temporal/setup';
import { type ClusterBinaries, ensureClusterBinaries, temporalPostgresSchemaDirs } from './binaries';
import { type CertificateFiles, makeCertificates } from './certificates';
import { freePort } from './ports';
import { type Postgres, startPostgres } from './postgres';
import { type ManagedProcess, portIsOpen, readyOrStopped, startProcess, waitUntilReady } from './process';
import { CLUSTER_DYNAMIC_CONFIG } from './servers';

/**
 * The cluster profile's Temporal: the server of the same version as the dev server, run as production runs it —
 * frontend, matching, the internal worker and two history hosts as separate processes sharing 16 history shards,
 * on PostgreSQL (tools/postgres.ts) for both the main store and SQL visibility — plus the standalone Web UI server
 * pointed at the frontend. Each process gets a config file of its own, generated at every start (its ports change
 * from one start to the next; the data stays).
 *
 * Every connection is mTLS, as a self-hosted production cluster runs (docs/deploying.md, "Self-hosted cluster:
 * mTLS"): the frontend requires a client certificate signed by the cluster's CA, and the services call one another
 * with certificates of the same CA. The certificates are made with `openssl` at every start (throwaway, valid 30
 * days), in `<dir>/tls`; SettleFlow's processes connect with the client certificate `clientTls` names.
 */

/** Fixed when the cluster's database is created: Temporal refuses to start with another count on the same data. */
export const NUM_HISTORY_SHARDS = 16;
export const HISTORY_HOSTS = 2;

/** The Temporal services, one process each; `history-N` are hosts of the one history service. */
export type ClusterServiceName = 'frontend' | 'matching' | 'worker' | `history-${number}`;

export interface TemporalClusterOptions {
  /** Everything the cluster keeps: PostgreSQL's data, the generated configs. */
  dir: string;
  /** The run's data dir, which holds `dir` (tools/postgres.ts opens the way down to PostgreSQL's data in it). */
  dataRoot?: string;
  logDir: string;
  host?: string;
  /** The frontend's gRPC port: where SettleFlow and the admin commands connect. */
  frontendPort: number;
  uiPort: number;
  /** The namespace the UI opens on. */
  namespace: string;
  /** The Temporal services' log level (their logs go to `<logDir>/temporal-<service>.log`). Default warn. */
  logLevel?: string;
  binaries?: ClusterBinaries;
  log?: (line: string) => void;
}

export interface TemporalCluster {
  frontendAddress: string;
  uiUrl: string;
  /** What a client needs to pass the frontend's mTLS: the CA, and a client certificate and key it signed. */
  clientTls: Required<Pick<TemporalTlsConfig, 'caFile' | 'clientCertFile' | 'clientKeyFile' | 'serverName'>>;
  /** The cluster's CA and its key: a test signs certificates of its own with them (or makes a foreign CA). */
  certificates: CertificateFiles;
  postgres: Postgres;
  /** The running processes by service name, and the UI server as `ui`. */
  processes: Map<string, ManagedProcess>;
  /** Each service's gRPC address: a history host's is the owner its shard records name (`shardOwners`). */
  addresses: Map<ClusterServiceName, string>;
  /** Each service's Prometheus `/metrics` (docs/metrics.md). */
  metricsUrls: Map<ClusterServiceName, string>;
  /** Stops one service process (SIGTERM, or SIGKILL when `kill`) and starts it again with the same config. */
  restartService(name: ClusterServiceName | 'ui', options?: { downForMs?: number; kill?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

/** The name every service's certificate carries (with the loopback address), and every client checks. */
const SERVER_NAME = 'localhost';

const DATABASES = { main: 'temporal', visibility: 'temporal_visibility' } as const;

interface ServicePorts {
  grpcPort: number;
  membershipPort: number;
  metricsPort: number;
}

/** Dynamic config shared by every service (CLUSTER_DYNAMIC_CONFIG, tools/servers.ts). */
function dynamicConfig(): Record<string, { value: unknown }[]> {
  return Object.fromEntries(Object.entries(CLUSTER_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value }]]));
}

function sqlStore(postgres: Postgres, databaseName: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${postgres.host}:${postgres.port}`,
      connectProtocol: 'tcp',
      user: postgres.user,
      password: postgres.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/**
 * One process's server config. Every process lists every service (its own ports are the ones it binds; the others
 * are found through membership, which the services record in the cluster_membership table), so only the history
 * entry differs between the two history hosts.
 */
function serverConfig(options: {
  host: string;
  postgres: Postgres;
  ports: Record<'frontend' | 'matching' | 'worker' | 'history', ServicePorts>;
  own: ServicePorts;
  dynamicConfigFile: string;
  logLevel: string;
  certificates: CertificateFiles;
}): string {
  const rpc = (ports: ServicePorts) => ({
    rpc: { grpcPort: ports.grpcPort, membershipPort: ports.membershipPort, bindOnIP: options.host },
  });
  const { certificates } = options;
  // Server side: this service's certificate, and a client certificate of the cluster's CA required of every caller.
  // Client side: the CA that signed the server it calls, and the name to check on its certificate. Named, not left to
  // the address: some of the server's own clients dial without one (and an IP is no TLS server name).
  const mtls = {
    server: {
      certFile: certificates.serverCert,
      keyFile: certificates.serverKey,
      clientCaFiles: [certificates.ca],
      requireClientAuth: true,
    },
    client: { rootCaFiles: [certificates.ca], serverName: SERVER_NAME },
  };
  const config = {
    log: { stdout: true, level: options.logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: {
        'postgres-default': sqlStore(options.postgres, DATABASES.main, 20),
        'postgres-visibility': sqlStore(options.postgres, DATABASES.visibility, 10),
      },
    },
    global: {
      // The internal worker calls the frontend with the internode certificate and the frontend group's client
      // settings (no `systemWorker` section): that certificate is made good for client authentication too.
      tls: { internode: mtls, frontend: mtls },
      membership: { maxJoinDuration: '30s', broadcastAddress: options.host },
      metrics: {
        prometheus: {
          framework: 'tally',
          timerType: 'histogram',
          listenAddress: `${options.host}:${options.own.metricsPort}`,
        },
      },
    },
    services: {
      frontend: rpc(options.ports.frontend),
      matching: rpc(options.ports.matching),
      history: rpc(options.ports.history),
      worker: rpc(options.ports.worker),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${options.host}:${options.ports.frontend.grpcPort}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: options.dynamicConfigFile, pollInterval: '10s' },
  };
  return (
    '# Generated by tools/temporal-cluster.ts at every start of the cluster profile: edits here are lost.\n' +
    stringify(config)
  );
}

/** The UI server's config: the frontend it talks to (over mTLS), where it listens, the namespace it opens on. */
function uiConfig(options: {
  host: string;
  port: number;
  frontend: string;
  namespace: string;
  certificates: CertificateFiles;
}): string {
  const { certificates } = options;
  return (
    '# Generated by tools/temporal-cluster.ts at every start of the cluster profile.\n' +
    stringify({
      temporalGrpcAddress: options.frontend,
      tls: {
        caFile: certificates.ca,
        certFile: certificates.clientCert,
        keyFile: certificates.clientKey,
        enableHostVerification: true,
        serverName: SERVER_NAME,
      },
      host: options.host,
      port: options.port,
      enableUi: true,
      defaultNamespace: options.namespace,
      showTemporalSystemNamespace: false,
      notifyOnNewVersion: false,
      cors: { cookieInsecure: true, allowOrigins: [`http://${options.host}:${options.port}`] },
      refreshInterval: '1m',
    })
  );
}

/**
 * Creates the two databases on first start and brings their schema to the newest version the server module ships,
 * with the server's own schema tool: on a fresh database `setup-schema -v 0.0` creates its version table, and
 * `update-schema` then applies every versioned step past the recorded one (so a newer server version pinned in
 * tools/binaries.ts upgrades an existing data directory at its first start).
 */
async function prepareSchema(
  sqlTool: string,
  postgres: Postgres,
  logDir: string,
  log: (line: string) => void,
): Promise<void> {
  const dirs = temporalPostgresSchemaDirs();
  const run = async (database: string, args: string[]) => {
    const proc = startProcess(
      'temporal-sql-tool',
      sqlTool,
      [
        '--plugin',
        'postgres12',
        '--endpoint',
        postgres.host,
        '--port',
        String(postgres.port),
        '--user',
        postgres.user,
        '--database',
        database,
        ...args,
      ],
      // The password from the environment, not the command line (which any local user can read).
      { logDir, env: { ...process.env, SQL_PASSWORD: postgres.password } },
    );
    const code = await proc.exited;
    if (code !== 0)
      throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed (exit ${code}); see ${proc.logFile}`);
  };
  for (const [database, dir] of [
    [DATABASES.main, dirs.temporal],
    [DATABASES.visibility, dirs.visibility],
  ] as const) {
    const exists = await postgres.query('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${database}'`);
    if (exists === '0') {
      log(`[temporal-cluster] creating database ${database}`);
      await run(database, ['create-database']);
      await run(database, ['setup-schema', '--version', '0.0']);
    }
    await run(database, ['update-schema', '--schema-dir', dir]);
    const version = await postgres.query(database, 'SELECT curr_version FROM schema_version');
    log(`[temporal-cluster] ${database} schema at version ${version}`);
  }
}

/**
 * The history hosts own every shard between them (each shard's record names its owner's address): until then a
 * workflow of an unowned shard cannot start. Also a way to see the shards move after a history host is lost.
 */
export async function shardOwners(postgres: Postgres, host = '127.0.0.1'): Promise<Map<string, number>> {
  const address = `${host.replace(/[^0-9a-zA-Z]/g, (c) => `\\${c}`)}:[0-9]+`;
  const rows = await postgres.query(
    DATABASES.main,
    `SELECT substring(encode(data, 'escape') from '${address}'), count(*) FROM shards GROUP BY 1`,
  );
  const owners = new Map<string, number>();
  for (const line of rows.split('\n').filter(Boolean)) {
    const [owner, count] = line.split('|');
    owners.set(owner ?? '', Number(count));
  }
  return owners;
}

async function waitForShards(postgres: Postgres, host: string, hosts: string[]): Promise<void> {
  await waitUntilReady(undefined, `${NUM_HISTORY_SHARDS} history shards owned by ${hosts.join(' and ')}`, async () => {
    const owners = await shardOwners(postgres, host);
    return hosts.reduce((sum, owner) => sum + (owners.get(owner) ?? 0), 0) === NUM_HISTORY_SHARDS;
  });
}

export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? ((line: string) => console.log(line));
  const host = options.host ?? '127.0.0.1';
  const binaries = options.binaries ?? (await ensureClusterBinaries(log));
  const frontendAddress = `${host}:${options.frontendPort}`;
  const uiUrl = `http://${host}:${options.uiPort}`;
  const processes = new Map<string, ManagedProcess>();
  const commands = new Map<
    string,
    { binary: string; args: string[]; ready: (proc: ManagedProcess) => Promise<void> }
  >();

  for (const [what, port, envVar] of [
    ['the Temporal frontend', options.frontendPort, 'TEMPORAL_PORT'],
    ['the Temporal Web UI', options.uiPort, 'TEMPORAL_UI_PORT'],
  ] as const) {
    if (await portIsOpen(host, port))
      throw new Error(`${host}:${port}, ${what}'s port, is already in use: stop whatever holds it, or set ${envVar}`);
  }
  const certificates = makeCertificates(path.join(options.dir, 'tls'), {
    serverNames: [SERVER_NAME, host],
    clientName: 'settleflow',
    days: 30,
    serverIsAlsoClient: true,
  });
  const clientTls = {
    caFile: certificates.ca,
    clientCertFile: certificates.clientCert,
    clientKeyFile: certificates.clientKey,
    serverName: SERVER_NAME,
  };
  const connectFrontend = (connectTimeout: '2s' | '10s') =>
    Connection.connect({ address: frontendAddress, tls: temporalTlsOptions(clientTls), connectTimeout });
  const postgres = await startPostgres({
    dir: path.join(options.dir, 'postgres'),
    dataRoot: options.dataRoot,
    logDir: options.logDir,
    log,
  });
  const stop = async () => {
    // The UI and the frontend first (no new calls), then the rest, PostgreSQL last.
    await Promise.all(['ui', 'frontend'].map((name) => processes.get(name)?.stop() ?? Promise.resolve()));
    await Promise.all([...processes.entries()].map(([, proc]) => proc.stop()));
    await postgres.stop();
  };

  try {
    await prepareSchema(binaries.sqlTool, postgres, options.logDir, log);

    const ports = async (grpcPort?: number): Promise<ServicePorts> => ({
      grpcPort: grpcPort ?? (await freePort()),
      // Kept in a SMALLINT column of the membership table: below 32768 (tools/ports.ts).
      membershipPort: await freePort(),
      metricsPort: await freePort(),
    });
    const shared = {
      frontend: await ports(options.frontendPort),
      matching: await ports(),
      worker: await ports(),
    };
    const historyHosts: ServicePorts[] = [];
    for (let i = 0; i < HISTORY_HOSTS; i++) historyHosts.push(await ports());

    const configRoot = path.join(options.dir, 'config');
    const dynamicConfigFile = path.join(configRoot, 'dynamicconfig.yaml');
    mkdirSync(configRoot, { recursive: true, mode: 0o700 });
    writeFileSync(dynamicConfigFile, stringify(dynamicConfig()));

    const services: { name: ClusterServiceName; service: string; own: ServicePorts; history: ServicePorts }[] = [
      { name: 'frontend', service: 'frontend', own: shared.frontend, history: historyHosts[0]! },
      { name: 'matching', service: 'matching', own: shared.matching, history: historyHosts[0]! },
      { name: 'worker', service: 'worker', own: shared.worker, history: historyHosts[0]! },
      ...historyHosts.map((own, i) => ({
        name: `history-${i + 1}` as ClusterServiceName,
        service: 'history',
        own,
        history: own,
      })),
    ];
    for (const { name, service, own, history } of services) {
      const dir = path.join(configRoot, name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      // `--env cluster` reads cluster.yaml from the config folder (the password is in it: owner-only).
      writeFileSync(
        path.join(dir, 'cluster.yaml'),
        serverConfig({
          host,
          postgres,
          ports: { ...shared, history },
          own,
          dynamicConfigFile,
          logLevel: options.logLevel ?? 'warn',
          certificates,
        }),
        { mode: 0o600 },
      );
      commands.set(name, {
        binary: binaries.server,
        // No authorizer: who may call is decided by the frontend's mTLS (a client certificate of the cluster's CA).
        args: ['--root', dir, '--config', '.', '--env', 'cluster', '--allow-no-auth', 'start', '--service', service],
        ready: (proc) =>
          // The internal worker serves no gRPC: it is up once its membership listener is.
          waitUntilReady(
            proc,
            `Temporal ${name}`,
            () => portIsOpen(host, service === 'worker' ? own.membershipPort : own.grpcPort),
            180_000,
          ).then(async () => {
            if (service !== 'frontend') return;
            await waitUntilReady(proc, 'Temporal frontend', async () => {
              const connection = await connectFrontend('2s');
              try {
                await connection.workflowService.getSystemInfo({});
                return true;
              } finally {
                await connection.close();
              }
            });
          }),
      });
    }

    const uiDir = path.join(configRoot, 'ui');
    mkdirSync(uiDir, { recursive: true });
    writeFileSync(
      path.join(uiDir, 'cluster.yaml'),
      uiConfig({ host, port: options.uiPort, frontend: frontendAddress, namespace: options.namespace, certificates }),
      { mode: 0o600 },
    );
    commands.set('ui', {
      binary: binaries.uiServer,
      args: ['--root', uiDir, '--config', '.', '--env', 'cluster', 'start'],
      ready: (proc) => waitUntilReady(proc, 'Temporal Web UI', async () => (await fetch(uiUrl)).status === 200),
    });

    const launch = async (name: string): Promise<void> => {
      const command = commands.get(name)!;
      const proc = startProcess(name === 'ui' ? 'temporal-ui' : `temporal-${name}`, command.binary, command.args, {
        logDir: options.logDir,
      });
      processes.set(name, proc);
      await readyOrStopped(proc, () => command.ready(proc));
    };

    // The previous run's hosts are gone (this PostgreSQL is the cluster's own, and nothing of it runs yet), but
    // their membership rows would count as live for 20 s after their last heartbeat: a quick restart would put
    // dead hosts in the ring and give them shards. Forget them.
    await postgres.query(DATABASES.main, 'DELETE FROM cluster_membership');

    // On a fresh database the first service to start writes the cluster's metadata row; two starting at once race
    // on that insert and the loser exits (seen in CI: history-2, duplicate key on cluster_metadata_info). So one
    // service starts first, the others once the row is there; then each waits in membership for those it needs.
    const started = Date.now();
    const [first, ...others] = services;
    const firstUp = launch(first!.name);
    firstUp.catch(() => undefined); // awaited below; a failure is reported there
    await waitUntilReady(
      processes.get(first!.name),
      'the cluster metadata',
      async () => Number(await postgres.query(DATABASES.main, 'SELECT count(*) FROM cluster_metadata_info')) > 0,
    );
    await Promise.all([firstUp, ...others.map(({ name }) => launch(name))]);
    await waitForShards(
      postgres,
      host,
      historyHosts.map((ports) => `${host}:${ports.grpcPort}`),
    );
    // The namespace Temporal's tools open by default (the server's own auto-setup image creates it too).
    const connection = await connectFrontend('10s');
    try {
      await ensureNamespace(connection, 'default');
    } finally {
      await connection.close();
    }
    await launch('ui');
    log(
      `[temporal-cluster] frontend at ${frontendAddress}, ${HISTORY_HOSTS} history hosts (${NUM_HISTORY_SHARDS} shards), ` +
        `matching, worker and UI up in ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );

    return {
      frontendAddress,
      uiUrl,
      clientTls,
      certificates,
      postgres,
      processes,
      addresses: new Map(services.map(({ name, own }) => [name, `${host}:${own.grpcPort}`])),
      metricsUrls: new Map(services.map(({ name, own }) => [name, `http://${host}:${own.metricsPort}/metrics`])),
      async restartService(name, { downForMs = 0, kill = false } = {}) {
        const proc = processes.get(name);
        if (!commands.has(name)) throw new Error(`no cluster process named ${name}`);
        if (kill) {
          proc?.child.kill('SIGKILL');
          await proc?.exited;
        } else await proc?.stop();
        await new Promise((resolve) => setTimeout(resolve, downForMs));
        await launch(name);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
