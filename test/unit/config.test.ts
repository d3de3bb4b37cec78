import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Config, ConfigError, configToEnv, loadConfig } from '../../src/config';
import { problemsOf } from '../support/config-problems';
import { localStackConfig } from '../../tools/stack';
import { keyIdOf } from '../../src/keyring';

/**
 * loadConfig (README, configuration): loopback defaults on one machine, contract durations, and every
 * configuration problem reported at once. Each test passes its own env object (never process.env) with a
 * vault key and a temporary DATA_DIR, so nothing is written inside the checkout.
 */

type Env = Record<string, string | undefined>;

const CHECKOUT = path.resolve(__dirname, '..', '..');

function inDirectory<T>(directory: string, run: () => T): T {
  const previous = process.cwd();
  process.chdir(directory);
  try {
    return run();
  } finally {
    process.chdir(previous);
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

let tmp: string;
let vaultKey: string;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-config-'));
  vaultKey = randomBytes(32).toString('base64');
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function env(overrides: Env = {}): Env {
  return { VAULT_KEY: vaultKey, DATA_DIR: path.join(tmp, 'data'), ...overrides };
}

describe('loadConfig defaults (README, what runs where)', () => {
  let config: Config;
  beforeAll(() => {
    config = loadConfig(env());
  });

  it('binds the API to 127.0.0.1:3000', () => {
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(3000);
  });

  it('defaults PUBLIC_BASE_URL to the API URL', () => {
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:3000');
  });

  it('points Temporal gRPC at 127.0.0.1:7233 and the Web UI at 127.0.0.1:8233', () => {
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.temporal.uiPort).toBe(8233);
    expect(config.temporal.uiUrl).toBe('http://127.0.0.1:8233');
  });

  it('uses the settleflow namespace', () => {
    expect(config.temporal.namespace).toBe('settleflow');
  });

  it('points FerretDB at 127.0.0.1:27017', () => {
    expect(config.mongo.url).toBe('mongodb://127.0.0.1:27017/');
  });

  it('starts Temporal and FerretDB embedded when TEMPORAL_ADDRESS and MONGODB_URL are unset', () => {
    expect(config.temporal.embedded).toBe(true);
    expect(config.mongo.embedded).toBe(true);
  });

  it('uses DATA_DIR as given', () => {
    expect(config.dataDir).toBe(path.join(tmp, 'data'));
  });

  // VAULT_KEY is set in both tests below, so nothing is created under .data/.
  it('keeps data under .data/ in the checkout when DATA_DIR is unset (run from the checkout)', () => {
    expect(inDirectory(CHECKOUT, () => loadConfig({ VAULT_KEY: vaultKey }).dataDir)).toBe(path.join(CHECKOUT, '.data'));
  });

  // The README puts the data "in .data/ of the checkout"; src/config.ts resolves DATA_DIR's default against
  // the process working directory, so the `settleflow` admin command run from elsewhere reads another data dir
  // (and, outside production, another generated vault key) than the running stack.
  it('keeps data under .data/ in the checkout when DATA_DIR is unset, whatever the working directory', () => {
    expect(inDirectory(tmp, () => loadConfig({ VAULT_KEY: vaultKey }).dataDir)).toBe(path.join(CHECKOUT, '.data'));
  });

  it('uses the contract durations: 10 s wait budget, 60 s key cache, 24 h grace, 15 min 3DS, 180 d refunds', () => {
    expect(config.apiWaitBudgetMs).toBe(10 * SECOND);
    expect(config.keyCacheTtlMs).toBe(60 * SECOND);
    expect(config.keyRotationGraceMs).toBe(24 * HOUR);
    expect(config.accountDefaults.threeDSTimeoutMs).toBe(15 * MINUTE);
    expect(config.accountDefaults.refundWindowMs).toBe(180 * DAY);
  });

  it('uses the contract webhook timings: 10 s per attempt, 3 days of retries live, 1 hour in sandbox', () => {
    expect(config.webhook.attemptTimeoutMs).toBe(10 * SECOND);
    expect(config.webhook.maxRetryLiveMs).toBe(3 * DAY);
    expect(config.webhook.maxRetrySandboxMs).toBe(1 * HOUR);
  });

  it('throttles by default: 10 failures per key id, 30 per address, 15 min cool-down, 2 Argon2id slots + 100 waiting, 6000 requests per minute per key, no proxy trusted', () => {
    expect(config.throttle).toEqual({
      failuresPerKey: 10,
      failuresPerAddress: 30,
      lockoutMs: 15 * MINUTE,
      argon2Concurrency: 2,
      argon2Queue: 100,
      requestsPerMinute: 6000,
      trustProxy: false,
    });
  });

  it('defaults the account currency to EUR', () => {
    expect(config.accountDefaults.currency).toBe('EUR');
  });

  it("decodes VAULT_KEY into the key ring's current key, with no retired key", () => {
    expect(config.vaultKeys.currentKeyId).toBe(keyIdOf(Buffer.from(vaultKey, 'base64')));
    expect(config.vaultKeys.retiredKeyIds).toEqual([]);
  });
});

describe('loadConfig overrides', () => {
  it('is not embedded and uses the given address when TEMPORAL_ADDRESS is set', () => {
    const config = loadConfig(env({ TEMPORAL_ADDRESS: 'temporal.example:7233' }));
    expect(config.temporal).toMatchObject({ address: 'temporal.example:7233', embedded: false });
    expect(config.mongo.embedded).toBe(true);
  });

  it('is not embedded and uses the given URL when MONGODB_URL is set', () => {
    const config = loadConfig(env({ MONGODB_URL: 'mongodb://db.example:27017/' }));
    expect(config.mongo).toMatchObject({ url: 'mongodb://db.example:27017/', embedded: false });
    expect(config.temporal.embedded).toBe(true);
  });

  it('treats an empty TEMPORAL_ADDRESS or MONGODB_URL as unset', () => {
    const config = loadConfig(env({ TEMPORAL_ADDRESS: '', MONGODB_URL: '  ' }));
    expect(config.temporal.embedded).toBe(true);
    expect(config.mongo.embedded).toBe(true);
  });

  it('derives the local addresses from PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT and FERRETDB_PORT', () => {
    const config = loadConfig(
      env({ PORT: '4000', TEMPORAL_PORT: '7300', TEMPORAL_UI_PORT: '8300', FERRETDB_PORT: '27100' }),
    );
    expect(config.port).toBe(4000);
    expect(config.publicBaseUrl).toBe('http://127.0.0.1:4000');
    expect(config.temporal.address).toBe('127.0.0.1:7300');
    expect(config.temporal.uiUrl).toBe('http://127.0.0.1:8300');
    expect(config.mongo.url).toBe('mongodb://127.0.0.1:27100/');
  });

  it.each([
    ['THREEDS_TIMEOUT', '15m', (c: Config) => c.accountDefaults.threeDSTimeoutMs, 15 * MINUTE],
    ['API_WAIT_BUDGET', '10s', (c: Config) => c.apiWaitBudgetMs, 10 * SECOND],
    ['KEY_ROTATION_GRACE', '24h', (c: Config) => c.keyRotationGraceMs, 24 * HOUR],
    ['REFUND_WINDOW', '180d', (c: Config) => c.accountDefaults.refundWindowMs, 180 * DAY],
    ['WEBHOOK_ATTEMPT_TIMEOUT', '1500', (c: Config) => c.webhook.attemptTimeoutMs, 1500],
    ['KEY_CACHE_TTL', '30s', (c: Config) => c.keyCacheTtlMs, 30 * SECOND],
    ['KEY_CACHE_TTL', '60s', (c: Config) => c.keyCacheTtlMs, 60 * SECOND],
  ])('parses %s=%s as a duration', (name, raw, pick, expected) => {
    expect(pick(loadConfig(env({ [name]: raw })))).toBe(expected);
  });
});

describe('loadConfig refuses bad settings', () => {
  it.each(['abc', '0', '65536', '80.5', '-1'])('refuses PORT=%s', (raw) => {
    const problems = problemsOf(env({ PORT: raw }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('PORT');
  });

  it.each(['soon', '0', '-5m', '10 parsecs'])('refuses the duration THREEDS_TIMEOUT=%s', (raw) => {
    const problems = problemsOf(env({ THREEDS_TIMEOUT: raw }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('THREEDS_TIMEOUT');
  });

  it.each(['61s', '2m', '61000', '1h'])('refuses KEY_CACHE_TTL=%s, above the 60 s the contract allows', (raw) => {
    const problems = problemsOf(env({ KEY_CACHE_TTL: raw }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('KEY_CACHE_TTL');
  });

  it.each([
    ['RATE_LIMIT_PER_MINUTE', '0'],
    ['RATE_LIMIT_PER_MINUTE', '12.5'],
    ['AUTH_FAILURES_PER_KEY', 'ten'],
    ['ARGON2_CONCURRENCY', '0'],
    ['ARGON2_QUEUE', '-1'],
    ['TRUST_PROXY', 'yes'],
  ])('refuses %s=%s', (name, raw) => {
    const problems = problemsOf(env({ [name]: raw }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(name);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['31 bytes', randomBytes(31).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
  ])('refuses a VAULT_KEY of %s', (_label, raw) => {
    const problems = problemsOf(env({ VAULT_KEY: raw }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('VAULT_KEY');
  });

  it('reads VAULT_KEYS_PREVIOUS as comma-separated base64 keys, retired behind VAULT_KEY', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const config = loadConfig(
      env({ VAULT_KEYS_PREVIOUS: ` ${a.toString('base64')} ,${b.toString('base64')},${vaultKey},` }),
    );
    expect(config.vaultKeys.currentKeyId).toBe(keyIdOf(Buffer.from(vaultKey, 'base64')));
    // The current key listed again is no second entry; an empty trailing entry is no entry.
    expect(config.vaultKeys.retiredKeyIds).toEqual([keyIdOf(a), keyIdOf(b)]);
  });

  it('refuses a VAULT_KEYS_PREVIOUS entry that is not 32 bytes, naming its position and never its value', () => {
    const short = randomBytes(16).toString('base64');
    const problems = problemsOf(
      env({ VAULT_KEYS_PREVIOUS: `${randomBytes(32).toString('base64')},${short}`, PORT: 'abc' }),
    );
    expect(problems).toHaveLength(2);
    const vaultProblem = problems.find((p) => p.includes('VAULT_KEYS_PREVIOUS'))!;
    expect(vaultProblem).toContain('entry 2 of 2');
    expect(vaultProblem).not.toContain(short);
  });

  it('refuses a missing VAULT_KEY in production', () => {
    const problems = problemsOf({ NODE_ENV: 'production', DATA_DIR: path.join(tmp, 'production') });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('VAULT_KEY');
    expect(existsSync(path.join(tmp, 'production', 'secrets', 'vault.key'))).toBe(false);
  });

  it('refuses an unknown NODE_ENV', () => {
    expect(problemsOf(env({ NODE_ENV: 'staging' }))[0]).toContain('NODE_ENV');
  });

  it('reports every problem in one ConfigError', () => {
    const input = env({ PORT: 'abc', API_WAIT_BUDGET: 'soon', KEY_CACHE_TTL: '5m', VAULT_KEY: 'c2hvcnQ=' });
    expect(() => loadConfig(input)).toThrow(ConfigError);

    const problems = problemsOf(input);
    expect(problems).toHaveLength(4);
    for (const name of ['PORT', 'API_WAIT_BUDGET', 'KEY_CACHE_TTL', 'VAULT_KEY']) {
      expect(problems.filter((p) => p.includes(name))).not.toHaveLength(0);
    }
  });

  it('lists every problem in the error message', () => {
    let message = '';
    try {
      loadConfig({ NODE_ENV: 'production', PORT: '70000', REFUND_WINDOW: 'forever' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/PORT/);
    expect(message).toMatch(/REFUND_WINDOW/);
    expect(message).toMatch(/VAULT_KEY/);
  });
});

describe('WEBHOOK_ALLOW_PRIVATE_TARGETS (docs/webhooks.md)', () => {
  it('is not set by default, which keeps webhooks on public addresses', () => {
    expect(loadConfig(env()).webhook.allowPrivateTargets).toBeUndefined();
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['false', false],
    ['0', false],
  ])('reads %s as %s', (raw, expected) => {
    expect(loadConfig(env({ WEBHOOK_ALLOW_PRIVATE_TARGETS: raw })).webhook.allowPrivateTargets).toBe(expected);
  });

  it.each(['yes', 'on', 'sandbox'])('refuses %s', (raw) => {
    const problems = problemsOf(env({ WEBHOOK_ALLOW_PRIVATE_TARGETS: raw }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('WEBHOOK_ALLOW_PRIVATE_TARGETS');
  });

  it('is a configuration error in production, listed with the other problems', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      DATA_DIR: path.join(tmp, 'production'),
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      PORT: 'abc',
    });
    expect(problems).toHaveLength(3);
    expect(problems.filter((p) => p.includes('WEBHOOK_ALLOW_PRIVATE_TARGETS'))).toHaveLength(1);
    expect(problems.filter((p) => p.includes('VAULT_KEY'))).toHaveLength(1);
  });

  it('may be set to false in production', () => {
    expect(
      loadConfig(env({ NODE_ENV: 'production', WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' })).webhook.allowPrivateTargets,
    ).toBe(false);
  });

  it('is turned on by the local stack (npm start) when unset, and passed on to its worker', () => {
    const local = localStackConfig(loadConfig(env()));
    expect(local.webhook.allowPrivateTargets).toBe(true);
    expect(configToEnv(local).WEBHOOK_ALLOW_PRIVATE_TARGETS).toBe('true');
  });

  it('is left as the operator set it by the local stack, and never turned on in production', () => {
    expect(
      localStackConfig(loadConfig(env({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false' }))).webhook.allowPrivateTargets,
    ).toBe(false);
    expect(localStackConfig(loadConfig(env({ NODE_ENV: 'production' }))).webhook.allowPrivateTargets).toBeUndefined();
  });
});

describe('vault key outside production', () => {
  it('creates a 32-byte key file under DATA_DIR when VAULT_KEY is unset, and reuses it', () => {
    const dataDir = path.join(tmp, 'generated');
    const first = loadConfig({ DATA_DIR: dataDir });
    const file = path.join(dataDir, 'secrets', 'vault.key');

    expect(existsSync(file)).toBe(true);
    const stored = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    expect(stored).toHaveLength(32);
    expect(first.vaultKeys.currentKeyId).toBe(keyIdOf(stored));
    expect(loadConfig({ DATA_DIR: dataDir }).vaultKeys.currentKeyId).toBe(first.vaultKeys.currentKeyId);
  });
});

describe('configToEnv', () => {
  it('round-trips a configuration with external Temporal and MongoDB through loadConfig unchanged', () => {
    const original = loadConfig(
      env({
        NODE_ENV: 'test',
        HOST: '0.0.0.0',
        PORT: '4100',
        PUBLIC_BASE_URL: 'https://pay.example.com/',
        LOG_LEVEL: 'warn',
        TEMPORAL_ADDRESS: 'temporal.example:7233',
        TEMPORAL_NAMESPACE: 'settleflow-test',
        TEMPORAL_UI_PORT: '8300',
        MONGODB_URL: 'mongodb://db.example:27017/',
        MONGODB_DB: 'settleflow_test',
        API_WAIT_BUDGET: '5s',
        KEY_CACHE_TTL: '30s',
        KEY_ROTATION_GRACE: '12h',
        DEFAULT_CURRENCY: 'usd',
        THREEDS_TIMEOUT: '10m',
        REFUND_WINDOW: '90d',
        WEBHOOK_ATTEMPT_TIMEOUT: '1500',
        WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
        VAULT_KEYS_PREVIOUS: [randomBytes(32), randomBytes(32)].map((k) => k.toString('base64')).join(','),
        AUTH_FAILURES_PER_KEY: '5',
        AUTH_FAILURES_PER_ADDRESS: '50',
        AUTH_LOCKOUT: '30m',
        ARGON2_CONCURRENCY: '4',
        ARGON2_QUEUE: '0',
        RATE_LIMIT_PER_MINUTE: '600',
        TRUST_PROXY: 'true',
      }),
    );
    const again = loadConfig(configToEnv(original));
    expect(again).toEqual(original);
    expect(again.vaultKeys.retiredKeyIds).toHaveLength(2);
    expect(again.vaultKeys.toEnv()).toEqual(original.vaultKeys.toEnv());
  });

  it('round-trips the default configuration, except that children see the embedded servers as given addresses', () => {
    const original = loadConfig(env());
    const again = loadConfig(configToEnv(original));
    expect(again).toEqual({
      ...original,
      temporal: { ...original.temporal, embedded: false },
      mongo: { ...original.mongo, embedded: false },
    });
  });

  it('exports only strings', () => {
    for (const value of Object.values(configToEnv(loadConfig(env())))) expect(typeof value).toBe('string');
  });
});
