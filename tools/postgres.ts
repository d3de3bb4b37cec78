import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../src/paths';
import { freePort } from './ports';
import { type ManagedProcess, readyOrStopped, startProcess, waitUntilReady } from './process';

/**
 * A PostgreSQL server of the project's own (the cluster profile's Temporal store, tools/temporal-cluster.ts):
 * initdb'd into a data directory under the run's data dir, listening on loopback only, on a port of its own (never
 * the system cluster's 5432, no Unix socket), and stopped by its process id. The binaries are the distribution's
 * (Debian's `postgresql` package puts them under /usr/lib/postgresql/<major>/bin, off PATH).
 */

export class MissingPostgresError extends Error {
  constructor(looked: string) {
    super(
      `PostgreSQL's server binaries (initdb, postgres) are needed for the cluster profile and none were found ` +
        `(looked in ${looked}). Install PostgreSQL 12 or newer (Debian: apt-get install postgresql; the system ` +
        'cluster it creates is never used), or set SETTLEFLOW_POSTGRES_BIN to the folder holding initdb and postgres.',
    );
    this.name = 'MissingPostgresError';
  }
}

const DISTRIBUTION_ROOT = '/usr/lib/postgresql';

/** The folder of initdb/postgres/psql: SETTLEFLOW_POSTGRES_BIN, else the newest major under the distribution root. */
export function findPostgresBinDir(): string {
  const configured = process.env.SETTLEFLOW_POSTGRES_BIN;
  if (configured) {
    if (!existsSync(path.join(configured, 'initdb'))) throw new MissingPostgresError(configured);
    return configured;
  }
  const majors = existsSync(DISTRIBUTION_ROOT)
    ? readdirSync(DISTRIBUTION_ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(path.join(DISTRIBUTION_ROOT, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors.length === 0) throw new MissingPostgresError(`${DISTRIBUTION_ROOT}/*/bin`);
  return path.join(DISTRIBUTION_ROOT, majors[0]!, 'bin');
}

/**
 * PostgreSQL refuses to run as root. Run as root (CI, containers), the server and initdb run as the distribution's
 * `postgres` account instead, which must own the data directory; otherwise as whoever runs the stack.
 */
let knownAccount: { uid: number; gid: number } | undefined;

/** Looked up once per process: every start and restart asks, and the account does not change while we run. */
function serverAccount(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  if (knownAccount) return knownAccount;
  const id = (flag: string) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0)
    throw new Error(
      'PostgreSQL cannot run as root, and there is no `postgres` account to run it as (the distribution package ' +
        'creates one). Run the stack as an ordinary user, or create that account.',
    );
  knownAccount = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  return knownAccount;
}

function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; account?: { uid: number; gid: number } } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      uid: options.account?.uid,
      gid: options.account?.gid,
      // A cwd the server account can enter: initdb and postgres complain about one they cannot.
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/**
 * Run as root, the server runs as the postgres account, which must be able to enter every folder above its data
 * directory. The data dirs of the stack are created owner-only (the vault key lives there), so the folders from
 * `dir` up that lie inside the checkout or inside `dataRoot` are made enterable by others (o+x: enter a known
 * name, never list); folders elsewhere are left alone, and initdb's error then names the one in the way.
 */
function openPathTo(dir: string, dataRoot: string | undefined): void {
  const inside = (folder: string, root: string) => {
    const relative = path.relative(root, folder);
    return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
  };
  for (let folder = path.resolve(dir); folder !== path.dirname(folder); folder = path.dirname(folder)) {
    if (!inside(folder, projectRoot) && !(dataRoot && inside(folder, path.resolve(dataRoot)))) break;
    const mode = statSync(folder).mode;
    if ((mode & 0o001) === 0) chmodSync(folder, (mode & 0o7777) | 0o001);
  }
}

/** Whether every folder from the root down to `dir` lets others enter it (the postgres account is an other). */
function enterableByOthers(dir: string): boolean {
  for (let folder = path.resolve(dir); ; folder = path.dirname(folder)) {
    if ((statSync(folder).mode & 0o001) === 0) return false;
    if (folder === path.dirname(folder)) return true;
  }
}

/**
 * Where PostgreSQL's data directory lives: `<dir>/data`, unless (run as root) the postgres account cannot reach it
 * because a folder above the checkout is owner-only (a checkout in root's home): then in a folder of its own under
 * the system's temporary folder, named after `dir`, with `<dir>/data` a symbolic link to it.
 */
function dataDirFor(dir: string): string {
  const home = path.join(dir, 'data');
  if (!serverAccount() || enterableByOthers(dir)) return home;
  const outside = path.join(
    os.tmpdir(),
    `settleflow-postgres-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`,
  );
  mkdirSync(outside, { recursive: true });
  chmodSync(outside, 0o711);
  if (!existsSync(home)) symlinkSync(path.join(outside, 'data'), home);
  return path.join(outside, 'data');
}

export interface PostgresOptions {
  /** Holds the data directory (`data/`) and the superuser's password (`password`, readable by its owner only). */
  dir: string;
  logDir: string;
  /** The run's data dir: run as root, the folders down to `dir` inside it may be made enterable (openPathTo). */
  dataRoot?: string;
  /** Default: a free one. Never 5432, the system cluster's. */
  port?: number;
  log?: (line: string) => void;
}

export interface Postgres {
  host: string;
  port: number;
  /** The superuser initdb created; the Temporal server connects as it (a local, single-purpose server). */
  user: string;
  password: string;
  binDir: string;
  server: ManagedProcess;
  /** Runs one SQL statement with psql and returns its unaligned output. */
  query(database: string, sql: string): Promise<string>;
  /** Stops the server (fast shutdown: open sessions are ended, nothing committed is lost). */
  stop(): Promise<void>;
  /** Stops it and starts it again on the same data and port (fault injection). */
  restart(downForMs?: number): Promise<void>;
}

const USER = 'temporal';
const HOST = '127.0.0.1';

/** initdb's first run: a fresh data directory, owned by the account the server runs as, with a random password. */
async function initialize(binDir: string, dataDir: string, passwordFile: string, log: (line: string) => void) {
  const account = serverAccount();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const password = randomBytes(18).toString('base64url');
  // initdb reads the password from a file, which the server account must be able to read; it is removed after.
  const initPasswordFile = path.join(dataDir, '..', `initdb-password-${process.pid}`);
  writeFileSync(initPasswordFile, password, { mode: 0o600 });
  if (account) {
    chownSync(dataDir, account.uid, account.gid);
    chownSync(initPasswordFile, account.uid, account.gid);
  }
  try {
    log(`[postgres] initdb ${dataDir}`);
    const result = await run(
      path.join(binDir, 'initdb'),
      [
        '--pgdata',
        dataDir,
        '--username',
        USER,
        `--pwfile=${initPasswordFile}`,
        // Password authentication over TCP, the only way in (the server opens no Unix socket).
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
      ],
      { account },
    );
    if (result.code !== 0) {
      const hint = account
        ? ` (it runs as the postgres account, which must be able to enter every folder above ${dataDir})`
        : '';
      throw new Error(`initdb failed (exit ${result.code})${hint}: ${result.output.trim()}`);
    }
  } finally {
    rmSync(initPasswordFile, { force: true });
  }
  writeFileSync(passwordFile, password, { mode: 0o600 });
}

export async function startPostgres(options: PostgresOptions): Promise<Postgres> {
  const log = options.log ?? ((line: string) => console.log(line));
  const binDir = findPostgresBinDir();
  const passwordFile = path.join(options.dir, 'password');
  mkdirSync(options.dir, { recursive: true });
  chmodSync(options.dir, 0o700);
  if (serverAccount()) openPathTo(options.dir, options.dataRoot);
  const dataDir = dataDirFor(options.dir);
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    rmSync(dataDir, { recursive: true, force: true });
    await initialize(binDir, dataDir, passwordFile, log);
  }
  const password = readFileSync(passwordFile, 'utf8').trim();
  const port = options.port ?? (await freePort());
  if (port === 5432) throw new Error('the project PostgreSQL never takes 5432, the system cluster’s port');

  const env = { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' };
  const psqlArgs = (database: string) => ['-h', HOST, '-p', String(port), '-U', USER, '-d', database];

  const start = async (): Promise<ManagedProcess> => {
    const account = serverAccount();
    const server = startProcess(
      'postgres',
      path.join(binDir, 'postgres'),
      [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-c',
        `listen_addresses=${HOST}`,
        // No Unix socket: nothing to collide with the system cluster's socket folder, nothing to clean up.
        '-c',
        'unix_socket_directories=',
        // Five Temporal services of ~25 connections each, FerretDB's later, and headroom for psql.
        '-c',
        'max_connections=300',
      ],
      { logDir: options.logDir, cwd: '/', uid: account?.uid, gid: account?.gid, stopSignal: 'SIGINT' },
    );
    await readyOrStopped(server, () =>
      waitUntilReady(server, 'PostgreSQL', async () => {
        const probe = await run(path.join(binDir, 'psql'), [...psqlArgs('postgres'), '-tAc', 'SELECT 1'], { env });
        return probe.code === 0 && probe.output.trim() === '1';
      }),
    );
    return server;
  };

  const postgres: Postgres = {
    host: HOST,
    port,
    user: USER,
    password,
    binDir,
    server: await start(),
    async query(database, sql) {
      const result = await run(
        path.join(binDir, 'psql'),
        [...psqlArgs(database), '-v', 'ON_ERROR_STOP=1', '-tAc', sql],
        {
          env,
        },
      );
      if (result.code !== 0)
        throw new Error(`psql on ${database} failed (exit ${result.code}): ${result.output.trim()}`);
      return result.output.trim();
    },
    stop: () => postgres.server.stop(30_000),
    async restart(downForMs = 0) {
      await postgres.stop();
      await new Promise((resolve) => setTimeout(resolve, downForMs));
      postgres.server = await start();
    },
  };
  log(`[postgres] ${path.basename(path.dirname(binDir))} at ${HOST}:${port}, data in ${dataDir}`);
  return postgres;
}
