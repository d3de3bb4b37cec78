import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The two real servers of the local stack are Go programs built from the Go module proxy and cached in a
 * git-ignored folder. Each binary has a stamp file naming what it was built from; it is rebuilt only when that
 * changes (a new pinned version, a new Go, an edited launcher).
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Later tags carry a `replace` directive in their go.mod and cannot be `go install`ed.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';

import { projectRoot } from '../src/paths';

export { projectRoot };
const ferretLauncherDir = path.join(projectRoot, 'tools', 'ferretdb');

export function toolsBinDir(): string {
  return process.env.SETTLEFLOW_TOOLS_DIR ?? path.join(projectRoot, '.tools', 'bin');
}

export class MissingGoError extends Error {
  constructor() {
    super(
      'Go (1.24 or newer) is needed to build the local Temporal and FerretDB servers, and none was found on PATH ' +
        'or at /usr/local/go/bin/go. Install Go from your OS packages or the official tarball, or point SettleFlow ' +
        'at existing servers with TEMPORAL_ADDRESS and MONGODB_URL.',
    );
    this.name = 'MissingGoError';
  }
}

function findGo(): string {
  for (const candidate of [process.env.GO, 'go', '/usr/local/go/bin/go']) {
    if (!candidate) continue;
    const probe = spawnSync(candidate, ['env', 'GOVERSION'], { encoding: 'utf8' });
    if (probe.status === 0) return candidate;
  }
  throw new MissingGoError();
}

function goVersion(go: string): string {
  return spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' }).stdout.trim();
}

interface BinarySpec {
  name: string;
  /** What the binary is built from; any change triggers a rebuild. */
  stamp: (go: string) => string;
  /** Runs the build, writing the executable to `output`. */
  build: (go: string, output: string, log: (line: string) => void) => Promise<void>;
}

function goEnv(): NodeJS.ProcessEnv {
  // CGO off: FerretDB's and Temporal's SQLite are pure Go, and we want no C toolchain dependency.
  // GOTOOLCHAIN=local: never try to download another Go toolchain (only the module proxy is reachable).
  return { ...process.env, GOTOOLCHAIN: 'local', CGO_ENABLED: '0', GOFLAGS: '-buildvcs=false' };
}

function runGo(go: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(line);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} failed (exit ${code})`))));
  });
}

export const temporalSpec: BinarySpec = {
  name: 'temporal',
  stamp: (go) => `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION} ${goVersion(go)}`,
  build: async (go, output, log) => {
    const gobin = path.join(path.dirname(output), `.gobin-${process.pid}`);
    mkdirSync(gobin, { recursive: true });
    try {
      await runGo(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], projectRoot, { ...goEnv(), GOBIN: gobin }, log);
      renameSync(path.join(gobin, 'temporal'), output);
    } finally {
      rmSync(gobin, { recursive: true, force: true });
    }
  },
};

export const ferretdbSpec: BinarySpec = {
  name: 'ferretdb',
  stamp: (go) => {
    const hash = createHash('sha256');
    for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(path.join(ferretLauncherDir, file)));
    return `launcher ${hash.digest('hex').slice(0, 16)} ${goVersion(go)}`;
  },
  build: (go, output, log) =>
    runGo(go, ['build', '-trimpath', '-o', output, '.'], ferretLauncherDir, { ...goEnv(), GOFLAGS: '-mod=readonly -buildvcs=false' }, log),
};

/** Returns the path of an up-to-date binary, building it first when needed (with visible progress). */
export async function ensureBinary(spec: BinarySpec, log: (line: string) => void = (l) => console.log(l)): Promise<string> {
  const dir = toolsBinDir();
  mkdirSync(dir, { recursive: true });
  const output = path.join(dir, spec.name);
  const stampFile = `${output}.stamp`;
  const go = findGo();
  const wanted = spec.stamp(go);
  if (existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted) return output;

  log(`[build] ${spec.name}: building ${wanted} with Go (the first build downloads modules and takes a few minutes)`);
  const started = Date.now();
  const ticker = setInterval(() => log(`[build] ${spec.name}: still building… ${Math.round((Date.now() - started) / 1000)}s`), 20_000);
  const tmp = `${output}.tmp-${process.pid}`;
  try {
    await spec.build(go, tmp, (line) => log(`[build] ${spec.name}: ${line}`));
    renameSync(tmp, output);
    writeFileSync(stampFile, wanted);
  } finally {
    clearInterval(ticker);
    rmSync(tmp, { force: true });
  }
  log(`[build] ${spec.name}: done in ${Math.round((Date.now() - started) / 1000)}s → ${output}`);
  return output;
}

export async function ensureAllBinaries(log?: (line: string) => void): Promise<{ temporal: string; ferretdb: string }> {
  // Sequential on purpose: two concurrent Go builds on a 2-core machine are slower than one after the other.
  const temporal = await ensureBinary(temporalSpec, log);
  const ferretdb = await ensureBinary(ferretdbSpec, log);
  return { temporal, ferretdb };
}
