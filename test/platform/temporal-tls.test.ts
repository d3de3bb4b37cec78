import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { type Config, configToEnv, loadConfig, TEMPORAL_CONNECTION_VARIABLES } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';
import type { selfCheckWorkflow } from '../../workflows/self-check-workflow';
import { ensureBinary, temporalSpec } from '../../tools/binaries';
import { type CertificateFiles, makeCertificates } from '../../tools/certificates';
import { freePort } from '../../tools/ports';
import type { ManagedProcess } from '../../tools/process';
import { startTemporalDevServer } from '../../tools/servers';
import { type Stack, startStack } from '../../tools/stack';
import { settleflowJsonIn } from '../support/cli';
import { frontendAnswers } from '../support/temporal-reachability';
import { testEnv } from '../support/test-env';

/**
 * The API, the worker and the admin command reach Temporal over mTLS with the TEMPORAL_TLS_* settings, and a
 * client without the right certificate is refused (docs/deploying.md, "Connecting securely").
 *
 * The Temporal CLI's dev server cannot serve TLS (`temporal server start-dev` has no TLS flags), so the frontend
 * here is a dev server of this file's own behind a TLS terminator that requires a client certificate signed by a
 * throwaway CA, as a frontend with `requireClientAuth` does. What is tested is SettleFlow's side: the options it
 * builds work with both SDK connection types (grpc-js for the API and the admin command, the Rust core for the
 * worker), and without a valid certificate nothing gets through. The cluster profile of issue 17 runs the same
 * refusal checks against a Temporal frontend configured for mTLS itself.
 */

interface Terminator {
  port: number;
  /** Handshakes the terminator refused (no certificate, a certificate of another CA, not TLS at all). */
  refused(): number;
  close(): Promise<void>;
}

/** Requires a client certificate signed by `certs.ca`, then passes the decrypted HTTP/2 stream to `target`. */
async function startMtlsTerminator(certs: CertificateFiles, target: string): Promise<Terminator> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<net.Socket>();
  let refused = 0;
  const server = tls.createServer(
    {
      key: readFileSync(certs.serverKey),
      cert: readFileSync(certs.serverCert),
      ca: readFileSync(certs.ca),
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: ['h2'],
    },
    (socket) => {
      const upstream = net.connect(port, host);
      for (const s of [socket, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      }
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    },
  );
  server.on('tlsClientError', () => refused++);
  const listenPort = await freePort();
  await new Promise<void>((resolve) => server.listen(listenPort, '127.0.0.1', resolve));
  return {
    port: listenPort,
    refused: () => refused,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const API_KEY = `tls-test-${randomBytes(16).toString('hex')}`;

let tmp: string;
let certs: CertificateFiles;
let strangers: CertificateFiles;
let devServer: ManagedProcess | undefined;
let terminator: Terminator | undefined;
let stack: Stack | undefined;
let config: Config;
/** The environment the stack's processes were given, for the admin command. */
let childEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-tls-stack-'));
  certs = makeCertificates(path.join(tmp, 'pki'));
  strangers = makeCertificates(path.join(tmp, 'other-pki'));
  const base: NodeJS.ProcessEnv = { ...process.env };
  // The shared stack's Temporal is not this file's; its MongoDB-wire server (MONGODB_URL) is reused.
  for (const name of TEMPORAL_CONNECTION_VARIABLES) delete base[name];
  const ports = await testEnv();
  const dataDir = path.join(tmp, 'data');

  const devConfig = loadConfig({ ...base, ...ports, DATA_DIR: dataDir });
  devServer = await startTemporalDevServer(devConfig, await ensureBinary(temporalSpec, () => undefined));
  terminator = await startMtlsTerminator(certs, devConfig.temporal.address);

  config = loadConfig({
    ...base,
    ...ports,
    DATA_DIR: dataDir,
    MONGODB_DB: 'settleflow_tls_test',
    LOG_LEVEL: 'debug',
    // An IP address, and the certificate's DNS name to check: TEMPORAL_TLS_SERVER_NAME is exercised too.
    TEMPORAL_ADDRESS: `127.0.0.1:${terminator.port}`,
    TEMPORAL_TLS_SERVER_NAME: 'localhost',
    TEMPORAL_TLS_CA: certs.ca,
    TEMPORAL_TLS_CERT: certs.clientCert,
    TEMPORAL_TLS_KEY: certs.clientKey,
    // The dev server has no authorizer and ignores it; sent on every call, it must show in no log.
    TEMPORAL_API_KEY: API_KEY,
  });
  childEnv = { ...base, ...configToEnv(config) };
  // Namespace set-up, the worker and the API: all over the terminator, with the settings above.
  stack = await startStack(config, { log: () => undefined });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  await terminator?.close();
  await devServer?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Connection options of `config` with TLS settings replaced (undefined: a plaintext client). */
function optionsWith(overrides: Record<string, string | undefined>) {
  const env: Record<string, string | undefined> = { ...configToEnv(config), TEMPORAL_API_KEY: undefined };
  for (const name of Object.keys(env)) if (name.startsWith('TEMPORAL_TLS')) delete env[name];
  return temporalConnectionOptions(loadConfig({ ...env, ...overrides }));
}

describe('SettleFlow over mTLS', () => {
  it('runs a workflow: the client and the worker process both reach the frontend with the certificate', async () => {
    const connection = await Connection.connect(temporalConnectionOptions(config));
    try {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      const checkId = `tls-${randomBytes(6).toString('hex')}`;
      const result = await client.workflow.execute<typeof selfCheckWorkflow>('selfCheckWorkflow', {
        taskQueue: config.temporal.taskQueue,
        workflowId: `self-check-${checkId}`,
        args: [{ checkId }],
        workflowExecutionTimeout: '30s',
      });
      expect(result.checkId).toBe(checkId);
      expect(result.worker).not.toContain(`:${process.pid}`);
    } finally {
      await connection.close();
    }
  });

  it('the API process reports Temporal reachable', async () => {
    const res = await fetch(`${stack!.apiUrl}/ready`);
    expect(await res.json()).toEqual({ status: 'ready', temporal: 'ok', mongo: 'ok' });
  });

  it('the admin command proves the chain with the same settings', async () => {
    const doctor = await settleflowJsonIn(childEnv, 'doctor');
    expect(doctor.ok).toBe(true);
  });

  it('the worker’s connection type (the Rust core) connects with the same options', async () => {
    const connection = await NativeConnection.connect(temporalConnectionOptions(config));
    try {
      const info = await connection.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeDefined();
    } finally {
      await connection.close();
    }
  });

  it('writes the API key to no log of any process', () => {
    const logDir = path.join(config.dataDir, 'logs');
    const files = readdirSync(logDir);
    expect(files).toEqual(expect.arrayContaining(['worker.log', 'api.log']));
    for (const file of files) expect(readFileSync(path.join(logDir, file), 'utf8')).not.toContain(API_KEY);
  });
});

describe('a client without the right certificate', () => {
  it('is refused without a client certificate, at the handshake', async () => {
    const before = terminator!.refused();
    expect(
      await frontendAnswers(optionsWith({ TEMPORAL_TLS_CA: certs.ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' })),
    ).toBe(false);
    expect(terminator!.refused()).toBeGreaterThan(before);
  });

  it('is refused with a certificate of another CA', async () => {
    const before = terminator!.refused();
    const options = optionsWith({
      TEMPORAL_TLS_CA: certs.ca,
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
      TEMPORAL_TLS_CERT: strangers.clientCert,
      TEMPORAL_TLS_KEY: strangers.clientKey,
    });
    expect(await frontendAnswers(options)).toBe(false);
    expect(terminator!.refused()).toBeGreaterThan(before);
  });

  it('is refused in plaintext', async () => {
    expect(await frontendAnswers(optionsWith({ TEMPORAL_TLS: 'false' }))).toBe(false);
  });

  it('is refused by the worker’s connection type too', async () => {
    const options = optionsWith({ TEMPORAL_TLS_CA: certs.ca, TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    await expect(NativeConnection.connect(options)).rejects.toThrow();
  });

  it('does not trust a frontend whose certificate does not carry the expected name', async () => {
    const options = optionsWith({
      TEMPORAL_TLS_CA: certs.ca,
      TEMPORAL_TLS_SERVER_NAME: 'elsewhere.example',
      TEMPORAL_TLS_CERT: certs.clientCert,
      TEMPORAL_TLS_KEY: certs.clientKey,
    });
    expect(await frontendAnswers(options)).toBe(false);
  });
});
