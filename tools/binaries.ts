import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';

/**
 * The two real servers of the local stack, and stripe-mock (Stripe's API simulator, for the tests of the Stripe
 * connector), are Go programs built from the Go module proxy and cached in a git-ignored folder. Each binary has a
 * stamp file naming what it was built from; it is rebuilt only when that changes (a new pinned version, a new Go,
 * an edited launcher or FerretDB patch).
 */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
// Later tags carry a `replace` directive in their go.mod and cannot be `go install`ed.
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const STRIPE_MOCK_MODULE = 'github.com/stripe/stripe-mock';
/**
 * The production-shaped cluster (tools/temporal-cluster.ts): the Temporal server of the same version the CLI's dev
 * server embeds, its SQL schema tool, and the standalone Web UI server of the version the CLI embeds.
 */
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';
export const TEMPORAL_UI_SERVER_VERSION = 'v2.42.1';
export const STRIPE_MOCK_VERSION = 'v0.203.0';
/**
 * Prometheus, for the rules and dashboard under deploy/observability (docs/metrics.md, "Alerts and dashboard"):
 * `promtool` checks and unit-tests the rules, the server scrapes the running test stack with them loaded. The Go
 * module's `v0.3xx.y` versions are Prometheus's 3.xx.y releases.
 */
export const PROMETHEUS_MODULE = 'github.com/prometheus/prometheus';
export const PROMETHEUS_VERSION = 'v0.316.0';

import { projectRoot } from '../src/paths';

export { projectRoot };
const ferretLauncherDir = path.join(projectRoot, 'tools', 'ferretdb');
const ferretPatchesDir = path.join(ferretLauncherDir, 'patches');
const FERRETDB_MODULE = 'github.com/FerretDB/FerretDB';

export function toolsBinDir(): string {
  return process.env.SETTLEFLOW_TOOLS_DIR ?? path.join(projectRoot, '.tools', 'bin');
}

export class MissingGoError extends Error {
  constructor() {
    super(
      'Go (1.24 or newer) is needed to build the local Temporal and FerretDB servers (and stripe-mock for the ' +
        'tests), and none was found on PATH ' +
        'or at /usr/local/go/bin/go. Install Go from your OS packages or the official tarball, or point SettleFlow ' +
        'at existing servers with TEMPORAL_ADDRESS and MONGODB_URL.',
    );
    this.name = 'MissingGoError';
  }
}

export function findGo(): string {
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

function runGo(
  go: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(go, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(line);
    };
    child.stdout.on('data', forward);
    child.stderr.on('data', forward);
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`go ${args.join(' ')} failed (exit ${code})`)),
    );
  });
}

/** Runs a command and returns its stdout; a failure throws, with the command's stderr in the message. */
function capture(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (result.error) throw result.error;
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * A program `go install`ed at a pinned version, into a folder of its own (one per build process, so concurrent
 * builds do not collide) from which the executable is moved to `output`.
 */
function goInstalledSpec(name: string, module: string, version: string, buildFlags: string[] = []): BinarySpec {
  const executable = path.basename(module);
  return {
    name,
    stamp: (go) => [`${module}@${version}`, ...buildFlags, goVersion(go)].join(' '),
    build: async (go, output, log) => {
      const gobin = path.join(path.dirname(output), `.gobin-${process.pid}`);
      mkdirSync(gobin, { recursive: true });
      try {
        await runGo(
          go,
          ['install', ...buildFlags, `${module}@${version}`],
          projectRoot,
          { ...goEnv(), GOBIN: gobin },
          log,
        );
        renameSync(path.join(gobin, executable), output);
      } finally {
        rmSync(gobin, { recursive: true, force: true });
      }
    },
  };
}

export const temporalSpec: BinarySpec = goInstalledSpec('temporal', TEMPORAL_CLI_MODULE, TEMPORAL_CLI_VERSION);

/** The Temporal server; one binary runs any of its services (`start --service history`, …). */
export const temporalServerSpec: BinarySpec = goInstalledSpec(
  'temporal-server',
  `${TEMPORAL_SERVER_MODULE}/cmd/server`,
  TEMPORAL_SERVER_VERSION,
);

/** `temporal-sql-tool`: creates the server's databases and sets up or upgrades their schema. */
export const temporalSqlToolSpec: BinarySpec = goInstalledSpec(
  'temporal-sql-tool',
  `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`,
  TEMPORAL_SERVER_VERSION,
);

/** The Temporal Web UI as a server of its own (its assets are embedded in the module), pointed at any frontend. */
export const temporalUiServerSpec: BinarySpec = goInstalledSpec(
  'temporal-ui-server',
  `${TEMPORAL_UI_SERVER_MODULE}/cmd/server`,
  TEMPORAL_UI_SERVER_VERSION,
);

/** `promtool`: `check rules` and `test rules` validate deploy/observability/alerts.yml and its unit tests. */
export const promtoolSpec: BinarySpec = goInstalledSpec(
  'promtool',
  `${PROMETHEUS_MODULE}/cmd/promtool`,
  PROMETHEUS_VERSION,
);

/** The Prometheus server itself, to scrape the running stack with the alert rules loaded. */
export const prometheusSpec: BinarySpec = goInstalledSpec(
  'prometheus',
  `${PROMETHEUS_MODULE}/cmd/prometheus`,
  PROMETHEUS_VERSION,
);
/**
 * Jaeger, the trace backend the embedded stack can run (docs/tracing.md): its all-in-one `jaeger` binary, which
 * since v2 is an OpenTelemetry Collector build configured by a YAML file (tools/jaeger-server.ts writes one).
 * Its go.mod carries a `replace`, so `go install module@version` refuses it; tools/jaeger/go.mod instead names it
 * as a `tool` of a module of ours (same replace, every module checked against tools/jaeger/go.sum), built from there.
 */
export const JAEGER_MODULE = 'github.com/jaegertracing/jaeger';
export const JAEGER_VERSION = 'v1.76.0';
const jaegerToolDir = path.join(projectRoot, 'tools', 'jaeger');

export function jaegerVersion(): string {
  const goMod = readFileSync(path.join(jaegerToolDir, 'go.mod'), 'utf8');
  const version = /^\s*github\.com\/jaegertracing\/jaeger\s+(v\S+)/m.exec(goMod)?.[1];
  if (version !== JAEGER_VERSION)
    throw new Error(`tools/jaeger/go.mod requires ${JAEGER_MODULE} ${version ?? '(none)'}, not ${JAEGER_VERSION}`);
  return version;
}

export const jaegerSpec: BinarySpec = {
  name: 'jaeger',
  stamp: (go) => {
    const hash = createHash('sha256');
    for (const file of ['go.mod', 'go.sum']) hash.update(readFileSync(path.join(jaegerToolDir, file)));
    return `${JAEGER_MODULE}/cmd/jaeger@${jaegerVersion()} mod ${hash.digest('hex').slice(0, 16)} ${goVersion(go)}`;
  },
  build: async (go, output, log) => {
    await runGo(
      go,
      ['build', '-trimpath', '-o', output, `${JAEGER_MODULE}/cmd/jaeger`],
      jaegerToolDir,
      { ...goEnv(), GOFLAGS: '-mod=readonly -buildvcs=false' },
      log,
    );
  },
};

/** Where the Go module cache holds a module's source (downloading it, checked against the checksum database, if needed). */
export function goModuleDir(module: string, version: string): string {
  const go = findGo();
  const info = JSON.parse(capture(go, ['mod', 'download', '-json', `${module}@${version}`], projectRoot, goEnv())) as {
    Dir?: string;
    Error?: string;
  };
  if (!info.Dir)
    throw new Error(`go mod download ${module}@${version} gave no source folder: ${info.Error ?? 'no error given'}`);
  return info.Dir;
}

/**
 * The versioned schema folders the server module ships for PostgreSQL (v12 and later): `temporal` for the main
 * store, `visibility` for SQL visibility. `temporal-sql-tool update-schema` applies them in version order.
 */
export function temporalPostgresSchemaDirs(): { temporal: string; visibility: string } {
  const root = path.join(goModuleDir(TEMPORAL_SERVER_MODULE, TEMPORAL_SERVER_VERSION), 'schema', 'postgresql', 'v12');
  return { temporal: path.join(root, 'temporal', 'versioned'), visibility: path.join(root, 'visibility', 'versioned') };
}

/**
 * stripe-mock learns its version from the linker (its releases are built that way; a `go install` says "master"):
 * set here, its log and its Stripe-Mock-Version response header name the version we pinned.
 */
export const stripeMockSpec: BinarySpec = goInstalledSpec('stripe-mock', STRIPE_MOCK_MODULE, STRIPE_MOCK_VERSION, [
  `-ldflags=-X=main.version=${STRIPE_MOCK_VERSION}`,
]);

/**
 * The fixtures stripe-mock answers from, as its pinned source bundles them (the file its binary embeds), read from
 * the Go module cache that building it filled: `go mod download` only checks it there (against the checksum
 * database) once the binary is built. Its top-level `resources` maps each API object (`payment_intent`, `refund`,
 * …) to the one instance stripe-mock answers with, the request's own fields copied in.
 */
export function stripeMockBundledFixtures(): { resources: Record<string, Record<string, unknown>> } {
  const dir = goModuleDir(STRIPE_MOCK_MODULE, STRIPE_MOCK_VERSION);
  return JSON.parse(readFileSync(path.join(dir, 'embedded', 'openapi', 'fixtures3.json'), 'utf8')) as {
    resources: Record<string, Record<string, unknown>>;
  };
}

/** The FerretDB version the launcher's go.mod pins (the patches are written against it). */
export function ferretdbVersion(): string {
  const goMod = readFileSync(path.join(ferretLauncherDir, 'go.mod'), 'utf8');
  const version = /^\s*(?:require\s+)?github\.com\/FerretDB\/FerretDB\s+(v\S+)/m.exec(goMod)?.[1];
  if (!version) throw new Error(`tools/ferretdb/go.mod does not require ${FERRETDB_MODULE}`);
  return version;
}

/** Our patches to FerretDB, applied in name order. */
export function ferretdbPatches(): string[] {
  if (!existsSync(ferretPatchesDir)) return [];
  return readdirSync(ferretPatchesDir)
    .filter((name) => name.endsWith('.patch'))
    .sort()
    .map((name) => path.join(ferretPatchesDir, name));
}

/** Module-cache trees are read-only: make a copy writable (and removable) before patching or deleting it. */
function makeWritable(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    chmodSync(full, lstatSync(full).mode | 0o200 | (entry.isDirectory() ? 0o700 : 0));
    if (entry.isDirectory()) makeWritable(full);
  }
}

function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  chmodSync(dir, 0o700);
  makeWritable(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Where patched FerretDB sources are built (git-ignored, inside this checkout). */
const ferretSrcRoot = path.join(projectRoot, '.tools', 'src');

/**
 * FerretDB's source, from the module proxy (checked against tools/ferretdb/go.sum), copied to a fresh folder under
 * .tools/src (one per build process, so concurrent builds do not collide) with our patches applied.
 */
function patchedFerretdbSource(go: string, version: string, copy: string, log: (line: string) => void): void {
  const env = { ...goEnv(), GOFLAGS: '-mod=readonly -buildvcs=false' };
  const info = JSON.parse(
    capture(go, ['mod', 'download', '-json', `${FERRETDB_MODULE}@${version}`], ferretLauncherDir, env),
  ) as {
    Dir?: string;
    Error?: string;
  };
  if (!info.Dir)
    throw new Error(
      `go mod download ${FERRETDB_MODULE}@${version} gave no source folder: ${info.Error ?? 'no error given'}`,
    );

  const srcRoot = path.dirname(copy);
  removeTree(copy);
  mkdirSync(srcRoot, { recursive: true });
  cpSync(info.Dir, copy, { recursive: true });
  chmodSync(copy, 0o755);
  makeWritable(copy);

  // GIT_CEILING_DIRECTORIES: the copy lies inside this checkout; without it `git apply` would take paths relative
  // to our repository's root and silently skip every file of the patch.
  const gitEnv = { ...process.env, GIT_CEILING_DIRECTORIES: srcRoot };
  for (const patch of ferretdbPatches()) {
    const name = path.relative(projectRoot, patch);
    const applied = spawnSync('git', ['apply', '--verbose', patch], { cwd: copy, env: gitEnv, encoding: 'utf8' });
    if (applied.error || applied.status !== 0) {
      throw new Error(
        `FerretDB patch ${name} does not apply to ${FERRETDB_MODULE}@${version} ` +
          `(${applied.error?.message ?? applied.stderr.trim()}). Update or remove the patch when changing the FerretDB version.`,
      );
    }
    // Belt and braces: the patch must now reverse cleanly, i.e. it really changed the copy.
    const check = spawnSync('git', ['apply', '--reverse', '--check', patch], {
      cwd: copy,
      env: gitEnv,
      encoding: 'utf8',
    });
    if (check.status !== 0)
      throw new Error(`FerretDB patch ${name} reported success but is not in ${copy}: ${check.stderr.trim()}`);
    log(`applied ${name}`);
  }
}

/**
 * FerretDB v1.24.2's SQLite backend never uses its own `_id` index (its queries spell the `_id` expression
 * differently from the index, so SQLite scans the whole table) and pushes `_id` down only when it is the filter's
 * only key: every lookup and guarded update scanned the collection. Nor does it push down an `_id` range, an `$in`
 * or a sort on `_id`, which the dashboard's key-range lists (src/store/payment-listing.ts) rely on. We therefore build it from the module source
 * with the patches in tools/ferretdb/patches, through a temporary go.mod (kept under .tools, never committed)
 * whose `replace` points at the patched copy; every other module is still checked against tools/ferretdb/go.sum.
 */
export const ferretdbSpec: BinarySpec = {
  name: 'ferretdb',
  stamp: (go) => {
    const hash = createHash('sha256');
    for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(path.join(ferretLauncherDir, file)));
    const patches = createHash('sha256');
    for (const patch of ferretdbPatches())
      patches
        .update(`${path.basename(patch)}\0`)
        .update(readFileSync(patch))
        .update('\0');
    return `launcher ${hash.digest('hex').slice(0, 16)} patches ${patches.digest('hex').slice(0, 16)} ${goVersion(go)}`;
  },
  build: async (go, output, log) => {
    const version = ferretdbVersion();
    const build = path.join(ferretSrcRoot, `build-${process.pid}`);
    const source = path.join(build, `ferretdb-${version}-patched`);
    try {
      patchedFerretdbSource(go, version, source, log);
      // -modfile: the launcher's go.mod plus one replace, with its go.sum next to it (where Go looks for it).
      const modfile = path.join(build, 'launcher.mod');
      const goMod = readFileSync(path.join(ferretLauncherDir, 'go.mod'), 'utf8');
      writeFileSync(modfile, `${goMod.trimEnd()}\n\nreplace ${FERRETDB_MODULE} ${version} => ${source}\n`);
      writeFileSync(path.join(build, 'launcher.sum'), readFileSync(path.join(ferretLauncherDir, 'go.sum')));
      await runGo(
        go,
        ['build', `-modfile=${modfile}`, '-trimpath', '-o', output, '.'],
        ferretLauncherDir,
        { ...goEnv(), GOFLAGS: '-mod=readonly -buildvcs=false' },
        log,
      );
    } finally {
      removeTree(build);
    }
  },
};

/** Returns the path of an up-to-date binary, building it first when needed (with visible progress). */
export async function ensureBinary(
  spec: BinarySpec,
  log: (line: string) => void = (l) => console.log(l),
): Promise<string> {
  const dir = toolsBinDir();
  mkdirSync(dir, { recursive: true });
  const output = path.join(dir, spec.name);
  const stampFile = `${output}.stamp`;
  const go = findGo();
  const wanted = spec.stamp(go);
  if (existsSync(output) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted) return output;

  log(`[build] ${spec.name}: building ${wanted} with Go (the first build downloads modules and takes a few minutes)`);
  const started = Date.now();
  const ticker = setInterval(
    () => log(`[build] ${spec.name}: still building… ${Math.round((Date.now() - started) / 1000)}s`),
    20_000,
  );
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

export interface Binaries {
  temporal: string;
  ferretdb: string;
  stripeMock: string;
}

export async function ensureAllBinaries(log?: (line: string) => void): Promise<Binaries> {
  // Sequential on purpose: two concurrent Go builds on a 2-core machine are slower than one after the other.
  const temporal = await ensureBinary(temporalSpec, log);
  const ferretdb = await ensureBinary(ferretdbSpec, log);
  const stripeMock = await ensureBinary(stripeMockSpec, log);
  return { temporal, ferretdb, stripeMock };
}

export interface ClusterBinaries {
  server: string;
  sqlTool: string;
  uiServer: string;
}

/** Jaeger, for the stack's optional trace backend (docs/tracing.md). */
export async function ensureJaegerBinary(log?: (line: string) => void): Promise<string> {
  return ensureBinary(jaegerSpec, log);
}

/** The binaries of the production-shaped cluster profile (`npm run start:cluster`, SETTLEFLOW_STACK=cluster). */
export async function ensureClusterBinaries(log?: (line: string) => void): Promise<ClusterBinaries> {
  // The schema tool shares nearly all its packages with the server: built second, it comes from Go's build cache.
  const server = await ensureBinary(temporalServerSpec, log);
  const sqlTool = await ensureBinary(temporalSqlToolSpec, log);
  const uiServer = await ensureBinary(temporalUiServerSpec, log);
  return { server, sqlTool, uiServer };
}

export interface ObservabilityBinaries {
  promtool: string;
  prometheus: string;
}

/** Prometheus's tools, for the alert rules and the scrape test of deploy/observability. */
export async function ensureObservabilityBinaries(log?: (line: string) => void): Promise<ObservabilityBinaries> {
  // promtool first: it shares most packages with the server, which then mostly comes from Go's build cache.
  const promtool = await ensureBinary(promtoolSpec, log);
  const prometheus = await ensureBinary(prometheusSpec, log);
  return { promtool, prometheus };
}
