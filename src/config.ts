import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import path from 'node:path';
import ms from 'ms';
import { DEFAULT_TASK_QUEUE } from '../workflows/vocabulary';
import { KeyRing } from './keyring';
import { projectRoot } from './paths';
import { Secret } from './secret';

/**
 * One typed configuration, read from the environment once. Every problem is collected and reported together,
 * so an operator fixes a bad deployment in one pass instead of one crash at a time.
 */
export interface Config {
  env: 'development' | 'test' | 'production';
  host: string;
  port: number;
  publicBaseUrl: string;
  dataDir: string;
  logLevel: string;
  temporal: {
    /** host:port of the frontend; `embedded` is true when we start the dev server ourselves. */
    address: string;
    embedded: boolean;
    namespace: string;
    taskQueue: string;
    uiPort: number;
    uiUrl: string;
    /** TLS towards the frontend (docs/deploying.md, "Connecting securely"); undefined: a plain connection. */
    tls?: TemporalTlsConfig;
    /** TEMPORAL_API_KEY (Temporal Cloud), sent as a bearer token on every call; never logged or printed. */
    apiKey?: Secret;
  };
  mongo: {
    /** TLS and credentials, when the server wants them, are options of the connection string itself. */
    url: string;
    embedded: boolean;
    dbName: string;
  };
  /**
   * The vault master key (VAULT_KEY) and the retired ones still accepted (VAULT_KEYS_PREVIOUS). Per-purpose keys
   * derived from it seal card data and webhook secrets at rest and sign request digests and 3DS form tokens.
   */
  vaultKeys: KeyRing;
  /** How long the payment endpoint waits for the workflow's decision before answering `pending`. */
  apiWaitBudgetMs: number;
  keyCacheTtlMs: number;
  keyRotationGraceMs: number;
  webhookSecretGraceMs: number;
  /** Defaults given to new merchant accounts; each account may override them. */
  accountDefaults: {
    currency: string;
    threeDSTimeoutMs: number;
    refundWindowMs: number;
  };
  webhook: {
    attemptTimeoutMs: number;
    initialBackoffMs: number;
    maxRetryLiveMs: number;
    maxRetrySandboxMs: number;
    /**
     * Sandbox deliveries may go to loopback and private addresses (receivers on the developer's machine).
     * Undefined means not set, which is no; the local stack (tools/stack.ts) turns it on unless told otherwise.
     * Live deliveries go to public addresses only whatever it says (docs/webhooks.md).
     */
    allowPrivateTargets?: boolean;
  };
  sweepIntervalMs: number;
  /** Abuse limits of the E-PRO endpoints (docs/authentication.md, "Throttling"). */
  throttle: ThrottleConfig;
  /** Added to every sandbox simulator call, to make processor latency visible in tests and benchmarks. */
  simulatorLatencyMs: number;
  /** Prometheus metrics of the API and the worker (docs/metrics.md). */
  metrics: MetricsConfig;
  /** OpenTelemetry tracing of the API and the worker (docs/tracing.md), from the standard OTEL_* variables. */
  tracing: TracingConfig;
  /** The Stripe connector (docs/connectors.md). */
  stripe: {
    /** Where Stripe's API answers (STRIPE_API_URL); absent: Stripe itself. Tests and demos point it at stripe-mock. */
    apiUrl?: string;
    /**
     * Live accounts may hold `sk_test_` keys (STRIPE_ALLOW_TEST_KEYS_FOR_LIVE): for stripe-mock, which takes no
     * other key. Refused in production.
     */
    allowTestKeysForLive: boolean;
  };
}

/**
 * Files, not their contents: the configuration holds no key material. loadConfig checks that each file reads and
 * parses; the connection options (src/temporal/connection-options.ts) read them when a connection is made.
 */
export interface TemporalTlsConfig {
  /** TEMPORAL_TLS_CA: the CA that signed the frontend's certificate; absent, the system's trusted roots. */
  caFile?: string;
  /** TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: this client's certificate and key for mTLS, both or neither. */
  clientCertFile?: string;
  clientKeyFile?: string;
  /** TEMPORAL_TLS_SERVER_NAME: the name checked on the frontend's certificate, when it is not the address's host. */
  serverName?: string;
}

/**
 * Where each process serves its metrics (docs/metrics.md). Every listener is its own, never the merchant-facing
 * port, and binds to loopback unless METRICS_HOST says otherwise: metrics tell volumes, outcomes and timings an
 * outsider has no business reading. A port of 0 turns that listener off.
 */
export interface MetricsConfig {
  /** METRICS_HOST: the address every metrics listener binds to. */
  host: string;
  /** API_METRICS_PORT: the API's `/metrics` (prom-client). */
  apiPort: number;
  /** WORKER_METRICS_PORT: the worker's `/metrics` (prom-client: payments, webhooks, Node). */
  workerPort: number;
  /** WORKER_SDK_METRICS_PORT: the Temporal SDK runtime's own Prometheus exporter in the worker. */
  sdkPort: number;
  /** METRICS_MERCHANT_LABEL: payment and webhook counters carry a `merchant` label (opt-in: one series per merchant). */
  merchantLabel: boolean;
}

/**
 * Tracing (docs/tracing.md), read from the OpenTelemetry SDK's standard variables. Off unless asked for: with no
 * OTLP endpoint and no OTEL_TRACES_EXPORTER, nothing is traced and nothing is installed on the hot path.
 * The exporter reads the rest of its settings (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT, OTEL_BSP_*, OTEL_SERVICE_NAME,
 * OTEL_TRACES_SAMPLER…) itself; only what decides whether and how SettleFlow traces is checked here.
 */
export interface TracingConfig {
  enabled: boolean;
  /** OTEL_TRACES_EXPORTER: `otlp` (http/protobuf) or `console` (spans printed on stdout, for a look by hand). */
  exporter: 'otlp' | 'console';
  /** Every OTEL_* variable as it was read, handed on to the processes a stack starts (configToEnv). */
  variables: Record<string, string>;
}

/** The OTLP protocols the bundled exporter speaks: http/protobuf (the specification's default) only. */
const OTLP_PROTOCOLS = ['http/protobuf'];

function loadTracing(read: Reader, env: Env): TracingConfig {
  const variables = Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] => entry[0].startsWith('OTEL_') && entry[1] !== undefined,
    ),
  );
  const off: TracingConfig = { enabled: false, exporter: 'otlp', variables };
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']) read.optionalUrl(name);
  for (const name of ['OTEL_EXPORTER_OTLP_PROTOCOL', 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL']) {
    const protocol = read.optional(name);
    if (protocol !== undefined && !OTLP_PROTOCOLS.includes(protocol))
      read.problems.push(`${name} must be ${OTLP_PROTOCOLS.join(' or ')} (docs/tracing.md), got "${protocol}"`);
  }
  if (read.flag('OTEL_SDK_DISABLED', false)) return off;
  const endpoint = read.optional('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ?? read.optional('OTEL_EXPORTER_OTLP_ENDPOINT');
  const exporter = read.optional('OTEL_TRACES_EXPORTER')?.toLowerCase() ?? (endpoint ? 'otlp' : 'none');
  if (exporter === 'none') return off;
  if (exporter !== 'otlp' && exporter !== 'console') {
    read.problems.push(`OTEL_TRACES_EXPORTER must be otlp, console or none (docs/tracing.md), got "${exporter}"`);
    return off;
  }
  return { enabled: true, exporter, variables };
}

export interface ThrottleConfig {
  /** Failed key checks (an existing key id with a wrong secret) allowed per key id within `lockoutMs`. */
  failuresPerKey: number;
  /** The same, per client address (IPv6: per /64). */
  failuresPerAddress: number;
  /** The window failures are counted in, and the cool-down once a budget is spent. */
  lockoutMs: number;
  /** Argon2id verifications running at once in one API process. */
  argon2Concurrency: number;
  /** Verifications allowed to wait for a slot; past that the answer is 9 with Retry-After. */
  argon2Queue: number;
  /** Requests per minute per API key, for accounts that set no limit of their own. */
  requestsPerMinute: number;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  string(name: string, fallback: string): string {
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? fallback : raw.trim();
  }

  optional(name: string): string | undefined {
    const raw = this.env[name]?.trim();
    return raw ? raw : undefined;
  }

  port(name: string, fallback: number): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < 1 || value > 65535) {
      this.problems.push(`${name} must be a TCP port (1-65535), got "${raw}"`);
      return fallback;
    }
    return value;
  }

  /** A TCP port, or 0 for "off". */
  portOrOff(name: string, fallback: number): number {
    return this.optional(name) === '0' ? 0 : this.port(name, fallback);
  }

  /** Durations accept `15m`, `24h`, `180d` or plain milliseconds. */
  duration(
    name: string,
    fallback: string,
    { max, allowZero = false }: { max?: number; allowZero?: boolean } = {},
  ): number {
    const raw = this.string(name, fallback);
    const value = /^\d+$/.test(raw) ? Number(raw) : (ms(raw as ms.StringValue) as number | undefined);
    if (value === undefined || !Number.isFinite(value) || value < 0 || (value === 0 && !allowZero)) {
      this.problems.push(`${name} must be a positive duration like 15m or 10s, got "${raw}"`);
      return ms(fallback as ms.StringValue);
    }
    if (max !== undefined && value > max) {
      this.problems.push(`${name} must be at most ${ms(max)}, got "${raw}"`);
      return max;
    }
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name, fallback);
    if (!(allowed as readonly string[]).includes(raw)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  }

  /** `true`/`false` (or `1`/`0`); undefined when unset, so a caller can tell "not set" from "set to false". */
  boolean(name: string): boolean | undefined {
    const raw = this.optional(name)?.toLowerCase();
    if (raw === undefined) return undefined;
    if (raw === 'true' || raw === '1') return true;
    if (raw === 'false' || raw === '0') return false;
    this.problems.push(`${name} must be true or false, got "${raw}"`);
    return undefined;
  }

  /** A whole number of at least `min`. */
  count(name: string, fallback: number, { min = 1 }: { min?: number } = {}): number {
    const raw = this.optional(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
      this.problems.push(`${name} must be a whole number of at least ${min}, got "${raw}"`);
      return fallback;
    }
    return value;
  }

  flag(name: string, fallback: boolean): boolean {
    return this.boolean(name) ?? fallback;
  }

  optionalUrl(name: string): string | undefined {
    return this.optional(name) === undefined ? undefined : this.url(name, '');
  }

  url(name: string, fallback: string): string {
    const raw = this.string(name, fallback);
    try {
      const parsed = new URL(raw);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('scheme');
      return raw.replace(/\/+$/, '');
    } catch {
      this.problems.push(`${name} must be an absolute http(s) URL, got "${raw}"`);
      return fallback;
    }
  }
}

const VAULT_KEY_FORMAT = '32 bytes, base64-encoded (openssl rand -base64 32)';

/**
 * Outside production the vault key may come from a file under the data dir, created on first use, so the
 * embedded stack and the admin command agree on it with no setup. Production must set VAULT_KEY explicitly.
 * VAULT_KEYS_PREVIOUS lists retired masters (comma-separated) whose sealed values must still open during a
 * rotation (docs/runbook.md, "Rotating the vault key").
 */
function loadVaultKeys(read: Reader, env: Config['env'], dataDir: string): KeyRing {
  const previous = (read.optional('VAULT_KEYS_PREVIOUS') ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry, i, all) => {
      const key = Buffer.from(entry, 'base64');
      // The entry's position, never its value: it is a secret.
      if (key.length !== 32)
        read.problems.push(`VAULT_KEYS_PREVIOUS entry ${i + 1} of ${all.length} must be ${VAULT_KEY_FORMAT}`);
      return key;
    })
    .filter((key) => key.length === 32);
  return new KeyRing(loadVaultKey(read, env, dataDir), previous);
}

function loadVaultKey(read: Reader, env: Config['env'], dataDir: string): Buffer {
  const raw = read.optional('VAULT_KEY');
  if (raw !== undefined) {
    const key = Buffer.from(raw, 'base64');
    if (key.length !== 32) {
      read.problems.push(`VAULT_KEY must be ${VAULT_KEY_FORMAT}`);
      return Buffer.alloc(32);
    }
    return key;
  }
  if (env === 'production') {
    read.problems.push('VAULT_KEY is required in production (32 bytes, base64: openssl rand -base64 32)');
    return Buffer.alloc(32);
  }
  const file = path.join(dataDir, 'secrets', 'vault.key');
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(32).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
}

/**
 * Where Temporal is and how to reach it securely. Code that starts a dev server of its own (the private test stacks,
 * the chaos run) drops all of them from the environment it inherits: that server listens in plaintext.
 */
export const TEMPORAL_CONNECTION_VARIABLES = [
  'TEMPORAL_ADDRESS',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CA',
  'TEMPORAL_TLS_CERT',
  'TEMPORAL_TLS_KEY',
  'TEMPORAL_TLS_SERVER_NAME',
  'TEMPORAL_API_KEY',
] as const;

type PemKind = 'certificate' | 'private key';

/**
 * Reads and parses the PEM file that the variable `name` set (`file`). Problems name the variable and the file, never what the file holds:
 * a private key must not reach a log through an error message.
 */
function readPem(
  read: Reader,
  name: string,
  file: string | undefined,
  kind: 'certificate',
): X509Certificate | undefined;
function readPem(read: Reader, name: string, file: string | undefined, kind: 'private key'): KeyObject | undefined;
function readPem(
  read: Reader,
  name: string,
  file: string | undefined,
  kind: PemKind,
): X509Certificate | KeyObject | undefined {
  if (file === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    read.problems.push(`${name}: cannot read ${file} (${code})`);
    return undefined;
  }
  try {
    return kind === 'certificate' ? new X509Certificate(pem) : createPrivateKey(pem);
  } catch {
    const what = kind === 'certificate' ? 'a PEM certificate' : 'an unencrypted PEM private key';
    read.problems.push(`${name}: ${file} is not ${what}`);
    return undefined;
  }
}

/**
 * TLS towards Temporal is on when any TEMPORAL_TLS_* file or name is set, or when TEMPORAL_API_KEY is (Temporal
 * Cloud takes API keys over TLS only); TEMPORAL_TLS=true turns it on with the system's roots alone, and
 * TEMPORAL_TLS=false turns it off for an API key sent to a plaintext endpoint (a local proxy that adds TLS).
 */
function loadTemporalTls(read: Reader, apiKey: Secret | undefined): TemporalTlsConfig | undefined {
  const settings = {
    caFile: read.optional('TEMPORAL_TLS_CA'),
    clientCertFile: read.optional('TEMPORAL_TLS_CERT'),
    clientKeyFile: read.optional('TEMPORAL_TLS_KEY'),
    serverName: read.optional('TEMPORAL_TLS_SERVER_NAME'),
  };
  // Only the settings given, so that a configuration read back from configToEnv is equal to the original.
  const tls: TemporalTlsConfig = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  const anySetting = Object.keys(tls).length > 0;
  const wanted = read.boolean('TEMPORAL_TLS');
  if (wanted === false && anySetting) {
    read.problems.push(
      'TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings that are set: remove one or the other',
    );
    return undefined;
  }
  readPem(read, 'TEMPORAL_TLS_CA', settings.caFile, 'certificate');
  const cert = readPem(read, 'TEMPORAL_TLS_CERT', settings.clientCertFile, 'certificate');
  const key = readPem(read, 'TEMPORAL_TLS_KEY', settings.clientKeyFile, 'private key');
  if ((tls.clientCertFile === undefined) !== (tls.clientKeyFile === undefined)) {
    read.problems.push(
      'TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: a client certificate is useless without its key, and a key without its certificate',
    );
  } else if (cert && key) {
    if (key.type !== 'private' || !cert.checkPrivateKey(key))
      read.problems.push('TEMPORAL_TLS_KEY is not the private key of the certificate in TEMPORAL_TLS_CERT');
    if (Date.parse(cert.validTo) < Date.now())
      read.problems.push(`TEMPORAL_TLS_CERT: the certificate expired on ${new Date(cert.validTo).toISOString()}`);
  }
  return anySetting || wanted === true || (wanted === undefined && apiKey !== undefined) ? tls : undefined;
}

/** MONGODB_URL with its password hidden, for banners and logs: credentials travel in the connection string. */
export function displayMongoUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable MONGODB_URL)';
  }
}

export function loadConfig(env: Env = process.env): Config {
  const read = new Reader(env);
  const nodeEnv = read.oneOf('NODE_ENV', ['development', 'test', 'production'] as const, 'development');
  const host = read.string('HOST', '127.0.0.1');
  const port = read.port('PORT', 3000);
  // The default lives in the checkout whatever the working directory, so the admin command run from anywhere
  // finds the same data (and, outside production, the same vault key) as the running stack.
  const dataDir = path.resolve(read.optional('DATA_DIR') ?? path.join(projectRoot, '.data'));

  const temporalAddress = read.optional('TEMPORAL_ADDRESS');
  const temporalPort = read.port('TEMPORAL_PORT', 7233);
  const uiPort = read.port('TEMPORAL_UI_PORT', 8233);
  const mongoUrl = read.optional('MONGODB_URL');
  if (mongoUrl !== undefined && !/^mongodb(\+srv)?:\/\//.test(mongoUrl)) {
    // Not echoed: the connection string carries the database password.
    read.problems.push('MONGODB_URL must be a MongoDB connection string (mongodb:// or mongodb+srv://)');
  }
  const apiKeyValue = read.optional('TEMPORAL_API_KEY');
  const apiKey = apiKeyValue === undefined ? undefined : new Secret(apiKeyValue);
  const temporalTls = loadTemporalTls(read, apiKey);
  const mongoPort = read.port('FERRETDB_PORT', 27017);

  const config: Config = {
    env: nodeEnv,
    host,
    port,
    publicBaseUrl: read.url('PUBLIC_BASE_URL', `http://${host}:${port}`),
    dataDir,
    logLevel: read.oneOf('LOG_LEVEL', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, 'info'),
    temporal: {
      address: temporalAddress ?? `127.0.0.1:${temporalPort}`,
      embedded: temporalAddress === undefined,
      namespace: read.string('TEMPORAL_NAMESPACE', 'settleflow'),
      taskQueue: read.string('TEMPORAL_TASK_QUEUE', DEFAULT_TASK_QUEUE),
      uiPort,
      uiUrl: read.url('TEMPORAL_UI_URL', `http://127.0.0.1:${uiPort}`),
      ...(temporalTls ? { tls: temporalTls } : {}),
      ...(apiKey ? { apiKey } : {}),
    },
    mongo: {
      url: mongoUrl ?? `mongodb://127.0.0.1:${mongoPort}/`,
      embedded: mongoUrl === undefined,
      dbName: read.string('MONGODB_DB', 'settleflow'),
    },
    vaultKeys: loadVaultKeys(read, nodeEnv, dataDir),
    apiWaitBudgetMs: read.duration('API_WAIT_BUDGET', '10s', { max: ms('60s') }),
    // The contract caps the verified-key cache at 60 s: revocation must bite within that bound.
    keyCacheTtlMs: read.duration('KEY_CACHE_TTL', '60s', { max: ms('60s') }),
    keyRotationGraceMs: read.duration('KEY_ROTATION_GRACE', '24h'),
    webhookSecretGraceMs: read.duration('WEBHOOK_SECRET_GRACE', '24h'),
    accountDefaults: {
      currency: read.string('DEFAULT_CURRENCY', 'EUR').toUpperCase(),
      threeDSTimeoutMs: read.duration('THREEDS_TIMEOUT', '15m'),
      refundWindowMs: read.duration('REFUND_WINDOW', '180d'),
    },
    webhook: {
      attemptTimeoutMs: read.duration('WEBHOOK_ATTEMPT_TIMEOUT', '10s'),
      initialBackoffMs: read.duration('WEBHOOK_INITIAL_BACKOFF', '10s'),
      maxRetryLiveMs: read.duration('WEBHOOK_MAX_RETRY_LIVE', '3d'),
      maxRetrySandboxMs: read.duration('WEBHOOK_MAX_RETRY_SANDBOX', '1h'),
      allowPrivateTargets: read.boolean('WEBHOOK_ALLOW_PRIVATE_TARGETS'),
    },
    sweepIntervalMs: read.duration('SWEEP_INTERVAL', '1m'),
    throttle: {
      failuresPerKey: read.count('AUTH_FAILURES_PER_KEY', 10),
      failuresPerAddress: read.count('AUTH_FAILURES_PER_ADDRESS', 30),
      lockoutMs: read.duration('AUTH_LOCKOUT', '15m', { max: ms('1d') }),
      argon2Concurrency: read.count('ARGON2_CONCURRENCY', 2),
      argon2Queue: read.count('ARGON2_QUEUE', 100, { min: 0 }),
      requestsPerMinute: read.count('RATE_LIMIT_PER_MINUTE', 6000),
      trustProxy: read.flag('TRUST_PROXY', false),
    },
    simulatorLatencyMs: read.duration('SIMULATOR_LATENCY', '0', { allowZero: true, max: ms('20s') }),
    metrics: {
      host: read.string('METRICS_HOST', '127.0.0.1'),
      apiPort: read.portOrOff('API_METRICS_PORT', 9464),
      workerPort: read.portOrOff('WORKER_METRICS_PORT', 9465),
      sdkPort: read.portOrOff('WORKER_SDK_METRICS_PORT', 9466),
      merchantLabel: read.flag('METRICS_MERCHANT_LABEL', false),
    },
    tracing: loadTracing(read, env),
    stripe: {
      apiUrl: read.optionalUrl('STRIPE_API_URL'),
      allowTestKeysForLive: read.flag('STRIPE_ALLOW_TEST_KEYS_FOR_LIVE', false),
    },
  };

  if (!/^[A-Z]{3}$/.test(config.accountDefaults.currency)) {
    read.problems.push(`DEFAULT_CURRENCY must be an ISO 4217 code like EUR, got "${config.accountDefaults.currency}"`);
  }
  if (config.temporal.embedded && (config.temporal.tls !== undefined || config.temporal.apiKey !== undefined)) {
    // The dev server the local stack starts listens in plaintext: a TLS handshake with it could only time out.
    read.problems.push(
      'TEMPORAL_TLS_* and TEMPORAL_API_KEY are for a Temporal server of your own: set TEMPORAL_ADDRESS to its frontend (the embedded dev server takes plain connections only)',
    );
  }
  if (nodeEnv === 'production' && config.webhook.allowPrivateTargets) {
    // A hosted gateway's private network is exactly what an SSRF reaches: sandbox keys are handed to anyone.
    read.problems.push(
      'WEBHOOK_ALLOW_PRIVATE_TARGETS=true is refused in production: webhooks must go to public addresses only (docs/webhooks.md)',
    );
  }
  if (nodeEnv === 'production' && config.stripe.allowTestKeysForLive) {
    read.problems.push('STRIPE_ALLOW_TEST_KEYS_FOR_LIVE=true is refused in production: live payments need live keys');
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return config;
}

/** The TLS and API key settings of the Temporal connection, as environment; nothing when the connection is plain. */
function temporalSecurityEnv({ tls, apiKey }: Config['temporal']): Record<string, string> {
  if (tls === undefined && apiKey === undefined) return {};
  return {
    // Explicit both ways, so that a child reads the same decision whatever the API key's default would be.
    TEMPORAL_TLS: String(tls !== undefined),
    ...(tls?.caFile ? { TEMPORAL_TLS_CA: tls.caFile } : {}),
    ...(tls?.clientCertFile ? { TEMPORAL_TLS_CERT: tls.clientCertFile } : {}),
    ...(tls?.clientKeyFile ? { TEMPORAL_TLS_KEY: tls.clientKeyFile } : {}),
    ...(tls?.serverName ? { TEMPORAL_TLS_SERVER_NAME: tls.serverName } : {}),
    ...(apiKey ? { TEMPORAL_API_KEY: apiKey.reveal() } : {}),
  };
}

/**
 * The environment a child process needs to see exactly this configuration. It carries secrets (VAULT_KEY,
 * TEMPORAL_API_KEY, the password in MONGODB_URL) because the child needs them: it is handed to `spawn`, never
 * printed or logged.
 */
export function configToEnv(config: Config): Record<string, string> {
  return {
    NODE_ENV: config.env,
    HOST: config.host,
    PORT: String(config.port),
    PUBLIC_BASE_URL: config.publicBaseUrl,
    DATA_DIR: config.dataDir,
    LOG_LEVEL: config.logLevel,
    TEMPORAL_ADDRESS: config.temporal.address,
    TEMPORAL_NAMESPACE: config.temporal.namespace,
    TEMPORAL_TASK_QUEUE: config.temporal.taskQueue,
    TEMPORAL_UI_PORT: String(config.temporal.uiPort),
    TEMPORAL_UI_URL: config.temporal.uiUrl,
    ...temporalSecurityEnv(config.temporal),
    MONGODB_URL: config.mongo.url,
    MONGODB_DB: config.mongo.dbName,
    ...config.vaultKeys.toEnv(),
    API_WAIT_BUDGET: String(config.apiWaitBudgetMs),
    KEY_CACHE_TTL: String(config.keyCacheTtlMs),
    KEY_ROTATION_GRACE: String(config.keyRotationGraceMs),
    WEBHOOK_SECRET_GRACE: String(config.webhookSecretGraceMs),
    DEFAULT_CURRENCY: config.accountDefaults.currency,
    THREEDS_TIMEOUT: String(config.accountDefaults.threeDSTimeoutMs),
    REFUND_WINDOW: String(config.accountDefaults.refundWindowMs),
    WEBHOOK_ATTEMPT_TIMEOUT: String(config.webhook.attemptTimeoutMs),
    WEBHOOK_INITIAL_BACKOFF: String(config.webhook.initialBackoffMs),
    WEBHOOK_MAX_RETRY_LIVE: String(config.webhook.maxRetryLiveMs),
    WEBHOOK_MAX_RETRY_SANDBOX: String(config.webhook.maxRetrySandboxMs),
    ...(config.webhook.allowPrivateTargets === undefined
      ? {}
      : { WEBHOOK_ALLOW_PRIVATE_TARGETS: String(config.webhook.allowPrivateTargets) }),
    SWEEP_INTERVAL: String(config.sweepIntervalMs),
    AUTH_FAILURES_PER_KEY: String(config.throttle.failuresPerKey),
    AUTH_FAILURES_PER_ADDRESS: String(config.throttle.failuresPerAddress),
    AUTH_LOCKOUT: String(config.throttle.lockoutMs),
    ARGON2_CONCURRENCY: String(config.throttle.argon2Concurrency),
    ARGON2_QUEUE: String(config.throttle.argon2Queue),
    RATE_LIMIT_PER_MINUTE: String(config.throttle.requestsPerMinute),
    TRUST_PROXY: String(config.throttle.trustProxy),
    SIMULATOR_LATENCY: String(config.simulatorLatencyMs),
    METRICS_HOST: config.metrics.host,
    API_METRICS_PORT: String(config.metrics.apiPort),
    WORKER_METRICS_PORT: String(config.metrics.workerPort),
    WORKER_SDK_METRICS_PORT: String(config.metrics.sdkPort),
    METRICS_MERCHANT_LABEL: String(config.metrics.merchantLabel),
    ...config.tracing.variables,
    ...(config.stripe.apiUrl ? { STRIPE_API_URL: config.stripe.apiUrl } : {}),
    STRIPE_ALLOW_TEST_KEYS_FOR_LIVE: String(config.stripe.allowTestKeysForLive),
  };
}
