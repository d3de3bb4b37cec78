import { randomBytes, X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import type { ConnectionOptions } from '@temporalio/client';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { configToEnv, displayMongoUrl, loadConfig } from '../../src/config';
import { problemsOf } from '../support/config-problems';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import { type CertificateFiles, makeCertificates } from '../../tools/certificates';

/**
 * Secure connections to Temporal (docs/deploying.md, "Connecting securely"): the TEMPORAL_TLS_* and
 * TEMPORAL_API_KEY rules of loadConfig, and the options every process connects with, built from real PEM files
 * made by openssl for this test.
 */

type Env = Record<string, string | undefined>;

const API_KEY = `tcloud-${randomBytes(24).toString('hex')}`;
let tmp: string;
let certs: CertificateFiles;
let other: CertificateFiles;

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-tls-'));
  certs = makeCertificates(path.join(tmp, 'pki'));
  other = makeCertificates(path.join(tmp, 'other-pki'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

function env(overrides: Env = {}): Env {
  return {
    VAULT_KEY: Buffer.alloc(32, 3).toString('base64'),
    DATA_DIR: path.join(tmp, 'data'),
    TEMPORAL_ADDRESS: 'temporal.example:7233',
    ...overrides,
  };
}

const mtls = () => ({
  TEMPORAL_TLS_CA: certs.ca,
  TEMPORAL_TLS_CERT: certs.clientCert,
  TEMPORAL_TLS_KEY: certs.clientKey,
  TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
});

describe('TLS towards Temporal: configuration', () => {
  it('is off, and the options carry the address alone, when nothing is set', () => {
    const config = loadConfig(env());
    expect(config.temporal.tls).toBeUndefined();
    expect(config.temporal.apiKey).toBeUndefined();
    expect(temporalConnectionOptions(config)).toEqual({ address: 'temporal.example:7233' });
  });

  it('builds mTLS options from the files: CA, client certificate and key, server name', () => {
    const config = loadConfig(env(mtls()));
    expect(config.temporal.tls).toEqual({
      caFile: certs.ca,
      clientCertFile: certs.clientCert,
      clientKeyFile: certs.clientKey,
      serverName: 'frontend.internal',
    });
    const options = temporalConnectionOptions(config);
    expect(options.address).toBe('temporal.example:7233');
    expect(options.tls?.serverNameOverride).toBe('frontend.internal');
    expect(Buffer.from(options.tls!.serverRootCACertificate!)).toEqual(readFileSync(certs.ca));
    expect(Buffer.from(options.tls!.clientCertPair!.crt)).toEqual(readFileSync(certs.clientCert));
    expect(Buffer.from(options.tls!.clientCertPair!.key)).toEqual(readFileSync(certs.clientKey));
    expect(options.apiKey).toBeUndefined();
  });

  it('gives the client (API, admin command) and the worker the same options', () => {
    const options = temporalConnectionOptions(loadConfig(env(mtls())));
    // Compile-time: the one shape fits both SDK connection types.
    const client: ConnectionOptions = options;
    const worker: NativeConnectionOptions = options;
    expect(client).toBe(worker);
  });

  it('turns TLS on with the system roots for a CA-less client certificate, or for TEMPORAL_TLS=true alone', () => {
    const pair = loadConfig(env({ TEMPORAL_TLS_CERT: certs.clientCert, TEMPORAL_TLS_KEY: certs.clientKey }));
    expect(temporalConnectionOptions(pair).tls?.serverRootCACertificate).toBeUndefined();
    expect(temporalConnectionOptions(pair).tls?.clientCertPair).toBeDefined();
    expect(temporalConnectionOptions(loadConfig(env({ TEMPORAL_TLS: 'true' }))).tls).toEqual({});
  });

  it.each([
    ['a certificate without its key', { TEMPORAL_TLS_CERT: 'cert' }],
    ['a key without its certificate', { TEMPORAL_TLS_KEY: 'key' }],
  ])('refuses %s', (_what, files) => {
    const given = Object.fromEntries(
      Object.entries(files).map(([name, which]) => [name, which === 'cert' ? certs.clientCert : certs.clientKey]),
    );
    expect(problemsOf(env(given))).toEqual([
      expect.stringMatching(/TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/),
    ]);
  });

  it('names the variable and the file it cannot read', () => {
    const missing = path.join(tmp, 'nowhere', 'ca.pem');
    expect(problemsOf(env({ TEMPORAL_TLS_CA: missing }))).toEqual([`TEMPORAL_TLS_CA: cannot read ${missing} (ENOENT)`]);
  });

  it('refuses a file that is not PEM without printing what the file holds', () => {
    const junk = path.join(tmp, 'junk.key');
    const content = `not-a-key-${randomBytes(8).toString('hex')}`;
    writeFileSync(junk, content);
    const problems = problemsOf(env({ TEMPORAL_TLS_CERT: certs.clientCert, TEMPORAL_TLS_KEY: junk }));
    expect(problems).toEqual([`TEMPORAL_TLS_KEY: ${junk} is not an unencrypted PEM private key`]);
    expect(problems.join('\n')).not.toContain(content);
  });

  it('never echoes a private key given where a certificate belongs', () => {
    const problems = problemsOf(env({ TEMPORAL_TLS_CA: certs.clientKey }));
    expect(problems).toEqual([`TEMPORAL_TLS_CA: ${certs.clientKey} is not a PEM certificate`]);
    const keyBody = readFileSync(certs.clientKey, 'utf8').split('\n')[1]!;
    expect(problems.join('\n')).not.toContain(keyBody);
  });

  it('refuses a key that is not the certificate’s', () => {
    expect(problemsOf(env({ TEMPORAL_TLS_CERT: certs.clientCert, TEMPORAL_TLS_KEY: other.clientKey }))).toEqual([
      'TEMPORAL_TLS_KEY is not the private key of the certificate in TEMPORAL_TLS_CERT',
    ]);
  });

  it('refuses an expired client certificate, saying when it expired', () => {
    // openssl cannot backdate a certificate here: the clock moves past its end instead.
    const validTo = new X509Certificate(readFileSync(certs.clientCert)).validTo;
    const now = jest.spyOn(Date, 'now').mockReturnValue(Date.parse(validTo) + 60_000);
    try {
      expect(problemsOf(env({ TEMPORAL_TLS_CERT: certs.clientCert, TEMPORAL_TLS_KEY: certs.clientKey }))).toEqual([
        `TEMPORAL_TLS_CERT: the certificate expired on ${new Date(validTo).toISOString()}`,
      ]);
    } finally {
      now.mockRestore();
    }
  });

  it('reports every problem at once', () => {
    const problems = problemsOf(
      env({ TEMPORAL_TLS_CA: path.join(tmp, 'absent.pem'), TEMPORAL_TLS_KEY: certs.clientKey, PORT: 'x' }),
    );
    expect(problems).toHaveLength(3);
  });

  it('refuses a file it may not read', () => {
    if (process.getuid?.() === 0) return; // root reads everything: nothing to check
    const locked = path.join(tmp, 'locked.pem');
    writeFileSync(locked, readFileSync(certs.ca));
    chmodSync(locked, 0o000);
    expect(problemsOf(env({ TEMPORAL_TLS_CA: locked }))).toEqual([`TEMPORAL_TLS_CA: cannot read ${locked} (EACCES)`]);
  });

  it('refuses TEMPORAL_TLS=false together with TLS files', () => {
    expect(problemsOf(env({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: certs.ca }))).toEqual([
      expect.stringMatching(/^TEMPORAL_TLS=false contradicts/),
    ]);
  });

  it('refuses TLS settings for the embedded dev server, which listens in plaintext', () => {
    expect(problemsOf(env({ TEMPORAL_ADDRESS: undefined, ...mtls() }))).toEqual([
      expect.stringMatching(/set TEMPORAL_ADDRESS/),
    ]);
    expect(problemsOf(env({ TEMPORAL_ADDRESS: undefined, TEMPORAL_API_KEY: API_KEY }))).toHaveLength(1);
  });
});

describe('TEMPORAL_API_KEY (Temporal Cloud)', () => {
  it('is sent by every connection, over TLS unless TEMPORAL_TLS=false says otherwise', () => {
    const options = temporalConnectionOptions(loadConfig(env({ TEMPORAL_API_KEY: API_KEY })));
    expect(options).toEqual({ address: 'temporal.example:7233', tls: {}, apiKey: API_KEY });
    const plain = temporalConnectionOptions(loadConfig(env({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' })));
    expect(plain).toEqual({ address: 'temporal.example:7233', apiKey: API_KEY });
  });

  it('never shows in the configuration printed, inspected or serialised (what a logger writes)', () => {
    const config = loadConfig(env({ TEMPORAL_API_KEY: API_KEY }));
    expect(JSON.stringify(config)).not.toContain(API_KEY);
    expect(inspect(config, { depth: 10 })).not.toContain(API_KEY);
    expect(`${String(config.temporal.apiKey)}`).toBe('[redacted]');
    expect(config.temporal.apiKey?.reveal()).toBe(API_KEY);
  });

  it('is never part of a configuration error', () => {
    const problems = problemsOf(env({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'maybe' }));
    expect(problems.join('\n')).not.toContain(API_KEY);
  });
});

describe('configToEnv with secure Temporal settings', () => {
  it('hands children the same TLS files, server name and API key: the configuration reads back equal', () => {
    const original = loadConfig(
      env({ ...mtls(), TEMPORAL_API_KEY: API_KEY, MONGODB_URL: 'mongodb://db.example:27017/' }),
    );
    const childEnv = configToEnv(original);
    expect(childEnv.TEMPORAL_TLS).toBe('true');
    expect(childEnv.TEMPORAL_API_KEY).toBe(API_KEY);
    const again = loadConfig(childEnv);
    expect(again).toEqual(original);
    expect(temporalConnectionOptions(again)).toEqual(temporalConnectionOptions(original));
  });

  it('keeps an API key without TLS without TLS in the child', () => {
    const original = loadConfig(env({ TEMPORAL_API_KEY: API_KEY, TEMPORAL_TLS: 'false' }));
    const again = loadConfig(configToEnv(original));
    expect(again.temporal.tls).toBeUndefined();
    expect(again.temporal.apiKey?.reveal()).toBe(API_KEY);
  });

  it('adds no TLS variable for a plain connection', () => {
    expect(Object.keys(configToEnv(loadConfig(env()))).filter((k) => k.startsWith('TEMPORAL_TLS'))).toEqual([]);
  });
});

describe('MONGODB_URL carries TLS and credentials', () => {
  it('accepts TLS and credential options in the connection string', () => {
    const url =
      'mongodb://settleflow:s3cret@db1.example:27017,db2.example:27017/?replicaSet=rs0&tls=true&authSource=admin';
    expect(loadConfig(env({ MONGODB_URL: url })).mongo.url).toBe(url);
    expect(loadConfig(env({ MONGODB_URL: 'mongodb+srv://u:p@cluster.example/' })).mongo.embedded).toBe(false);
  });

  it('refuses a URL that is not a MongoDB connection string, without echoing it', () => {
    const problems = problemsOf(env({ MONGODB_URL: 'https://u:hunter2@db.example/' }));
    expect(problems).toEqual([expect.stringMatching(/^MONGODB_URL must be a MongoDB connection string/)]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('hides the password when the URL is shown', () => {
    expect(displayMongoUrl('mongodb://settleflow:s3cret@mongo:27017/?authSource=admin')).toBe(
      'mongodb://settleflow:***@mongo:27017/?authSource=admin',
    );
    expect(displayMongoUrl('mongodb://127.0.0.1:27017/')).toBe('mongodb://127.0.0.1:27017/');
  });
});
