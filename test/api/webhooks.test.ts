import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { deliverEvent } from '../../src/webhooks/deliver';
import { MAX_RESPONSE_BYTES, systemResolver, webhookDispatcher } from '../../src/webhooks/transport';
import { type CreatedMerchant, rotateWebhookSecret } from '../../src/auth/accounts';
import { type Config, loadConfig } from '../../src/config';
import { merchants } from '../../src/store/merchants';
import { findPayment } from '../../src/store/payment-records';
import { paymentWebhooks, webhookAttempts, webhookEvents } from '../../src/store/webhook-attempts';
import { verifySignature } from '../../src/webhooks/verify';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { freePort } from '../../tools/ports';
import type { ManagedProcess } from '../../tools/process';
import { startApiProcess, startWorkerProcess } from '../../tools/stack';
import { settleflowJson } from '../support/cli';

/** docs/webhooks.md through the running system: retries, the delivery log, resend, rotation, order, targets, answers. */
let stack: StackClients;
let merchant: CreatedMerchant;

const processes: ManagedProcess[] = [];

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await stack.close();
});

const keyOf = (m: CreatedMerchant, tid: string) => `test:${m.merchantId}:${tid}`;

async function deliveriesOf(key: string, count: number): Promise<string[]> {
  return eventually(`${count} delivery id(s)`, async () => {
    const ids = (await paymentWebhooks(stack.db).findOne({ _id: key }))?.deliveryIds ?? [];
    return ids.length >= count ? ids : undefined;
  });
}

it('an endpoint that is down, then fails, then answers: delivered once in the end, every attempt logged, one delivery id', async () => {
  // Reserve a port, then free it: the first attempts meet a refused connection.
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const body = paymentBody({ CallbackUrl: `http://127.0.0.1:${port}/hooks` });
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, body)).body.Result).toMatchObject({
    Status: 'captured',
  });
  const [deliveryId] = await deliveriesOf(keyOf(merchant, body.Tid!), 1);
  await eventually('a refused attempt', async () =>
    (await webhookAttempts(stack.db).findOne({ _id: `${deliveryId}:1` }))?.error ? true : undefined,
  );

  const receiver = new WebhookReceiver();
  receiver.respond = (_r, index) => (index === 0 ? 500 : 200);
  await receiver.start(port);
  try {
    const event = await eventually(
      'delivery',
      async () => {
        const doc = await webhookEvents(stack.db).findOne({ _id: deliveryId! });
        return doc?.delivered ? doc : undefined;
      },
      30_000,
    );
    const attempts = await webhookAttempts(stack.db).find({ deliveryId: deliveryId! }).sort({ attempt: 1 }).toArray();
    expect(attempts.length).toBe(event.attempts);
    expect(attempts[0]!.error).toBeTruthy();
    expect(attempts.map((a) => a.httpStatus).filter(Boolean)).toEqual([500, 200]);
    expect(attempts.slice(0, -1).every((a) => a.nextRetryAt instanceof Date)).toBe(true);
    expect(attempts.at(-1)!.delivered).toBe(true);
    expect(new Set(receiver.received.map((r) => r.headers['x-settleflow-delivery']))).toEqual(new Set([deliveryId]));
    for (const hook of receiver.received) {
      expect(
        verifySignature(hook.rawBody, String(hook.headers['x-settleflow-signature']), [merchant.webhookSecret]),
      ).toBe(true);
    }

    const log = await settleflowJson<{
      deliveries: { _id: string; delivered: boolean; attemptLog: unknown[] }[];
    }>('webhooks', body.Tid!, '--merchant', merchant.merchantId);
    expect(log.deliveries).toHaveLength(1);
    expect(log.deliveries[0]).toMatchObject({ _id: deliveryId, delivered: true });
    expect(log.deliveries[0]!.attemptLog).toHaveLength(event.attempts);

    const resent = await settleflowJson(
      'webhooks',
      'resend',
      body.Reference ?? (await findPayment(stack.db, keyOf(merchant, body.Tid!)))!.reference,
    );
    expect(resent).toMatchObject({ deliveryId, event: 'PAYMENT_CAPTURED', delivered: true });
    const last = receiver.received.at(-1)!;
    expect(last.headers['x-settleflow-delivery']).toBe(deliveryId);
    expect(JSON.parse(last.rawBody)).toEqual(JSON.parse(receiver.received[0]!.rawBody));
    expect((await webhookEvents(stack.db).findOne({ _id: deliveryId! }))!.attempts).toBe(event.attempts + 1);
  } finally {
    await receiver.stop();
  }
});

it('events of one payment arrive in order even when the first needed retries', async () => {
  const receiver = new WebhookReceiver();
  receiver.respond = (request, index) =>
    index < 2 && request.headers['x-settleflow-event'] === 'PAYMENT_CAPTURED' ? 500 : 200;
  const url = await receiver.start();
  try {
    const body = paymentBody({ CallbackUrl: url });
    await post(stack.apiUrl, 'payment', merchant.testKey, body);
    expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: body.Tid! })).body.Code).toBe(0);
    await eventually('both events', () =>
      Promise.resolve(
        receiver.received.some((r) => r.headers['x-settleflow-event'] === 'REFUND_SUCCEEDED') ? true : undefined,
      ),
    );
    const events = receiver.received.map((r) => r.headers['x-settleflow-event']);
    expect(events).toEqual(['PAYMENT_CAPTURED', 'PAYMENT_CAPTURED', 'PAYMENT_CAPTURED', 'REFUND_SUCCEEDED']);
  } finally {
    await receiver.stop();
  }
});

it('secret rotation: during the overlap both secrets verify; after it only the new one', async () => {
  const rotating = await newMerchant(stack);
  const receiver = new WebhookReceiver();
  const url = await receiver.start();
  try {
    // A grace no loaded machine can outrun; it is then ended as time would end it (no sleep racing a window).
    const { webhookSecret: fresh } = await rotateWebhookSecret(stack.db, stack.config, rotating.merchantId, 3_600_000);
    const during = paymentBody({ CallbackUrl: url });
    await post(stack.apiUrl, 'payment', rotating.testKey, during);
    const [overlap] = await eventually('a webhook during the overlap', () =>
      Promise.resolve(receiver.forTid(during.Tid!).length ? receiver.forTid(during.Tid!) : undefined),
    );
    const header = String(overlap!.headers['x-settleflow-signature']);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(overlap!.rawBody, header, [fresh])).toBe(true);
    expect(verifySignature(overlap!.rawBody, header, [rotating.webhookSecret])).toBe(true);

    const stored = (await merchants(stack.db).findOne({ _id: rotating.merchantId }))!;
    const ended = stored.webhookSecrets.map((secret) =>
      secret.expiresAt ? { ...secret, expiresAt: new Date(Date.now() - 1000) } : secret,
    );
    await merchants(stack.db).updateOne({ _id: rotating.merchantId }, { $set: { webhookSecrets: ended } });
    const after = paymentBody({ CallbackUrl: url });
    await post(stack.apiUrl, 'payment', rotating.testKey, after);
    const [late] = await eventually('a webhook after the overlap', () =>
      Promise.resolve(receiver.forTid(after.Tid!).length ? receiver.forTid(after.Tid!) : undefined),
    );
    const lateHeader = String(late!.headers['x-settleflow-signature']);
    expect(lateHeader.match(/v1=/g)).toHaveLength(1);
    expect(verifySignature(late!.rawBody, lateHeader, [fresh])).toBe(true);
    expect(verifySignature(late!.rawBody, lateHeader, [rotating.webhookSecret])).toBe(false);
  } finally {
    await receiver.stop();
  }
});

/** A real endpoint on loopback that counts every connection made to it, whatever is then sent. */
class LoopbackListener {
  connections = 0;
  requests = 0;
  private server?: http.Server;

  async start(): Promise<number> {
    this.server = http.createServer((_req, res) => {
      this.requests += 1;
      res.end('internal secrets');
    });
    this.server.on('connection', () => (this.connections += 1));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function sandboxEvent(m: CreatedMerchant, url: string) {
  return {
    _id: `whd_target_${randomUUID()}`,
    paymentKey: 'test:target-test',
    merchantId: m.merchantId,
    mode: 'test' as const,
    event: 'PAYMENT_CAPTURED',
    url,
    body: '{"Code":0}',
    createdAt: new Date(),
    attempts: 0,
    delivered: false,
  };
}

describe('with WEBHOOK_ALLOW_PRIVATE_TARGETS off, sandbox webhooks reach public addresses only', () => {
  const listener = new LoopbackListener();
  let port: number;
  let publicOnly: Config;
  beforeAll(async () => {
    port = await listener.start();
    publicOnly = { ...stack.config, webhook: { ...stack.config.webhook, allowPrivateTargets: false } };
  });
  afterAll(() => listener.stop());

  it('a sandbox payment through the API and a worker run with the flag off: the loopback CallbackUrl is never called, the attempt is logged as refused, no retry', async () => {
    const config = loadConfig({
      ...process.env,
      PORT: String(await freePort()),
      TEMPORAL_TASK_QUEUE: `public-only-${randomUUID()}`,
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'false',
    });
    expect(config.webhook.allowPrivateTargets).toBe(false);
    processes.push(
      await startWorkerProcess(config, {}, 'worker-public-only'),
      await startApiProcess(config, {}, 'api-public-only'),
    );
    const before = listener.connections;

    const body = paymentBody({ CallbackUrl: `http://127.0.0.1:${port}/internal` });
    const answer = await post(`http://${config.host}:${config.port}`, 'payment', merchant.testKey, body);
    expect(answer.body.Result).toMatchObject({ Status: 'captured' });
    const [deliveryId] = await deliveriesOf(keyOf(merchant, body.Tid!), 1);
    const attempt = await eventually(
      'the refused attempt',
      async () => (await webhookAttempts(stack.db).findOne({ _id: `${deliveryId}:1` })) ?? undefined,
    );
    expect(attempt).toMatchObject({
      delivered: false,
      nextRetryAt: null,
      error: 'refused: 127.0.0.1 is not a public address',
    });
    // Nothing of an answer, since nothing was asked (the driver stores an absent field as null).
    expect(attempt.httpStatus ?? undefined).toBeUndefined();
    expect(attempt.responsePrefix ?? undefined).toBeUndefined();
    // The attempt is logged first, then its event: wait for the event too.
    const event = await eventually('the event updated', async () => {
      const doc = await webhookEvents(stack.db).findOne({ _id: deliveryId! });
      return doc && doc.attempts >= 1 ? doc : undefined;
    });
    expect(event).toMatchObject({ delivered: false, attempts: 1, nextRetryAt: null, lastError: attempt.error });
    expect(listener.connections).toBe(before);

    const log = await settleflowJson<{
      deliveries: { attemptLog: { error?: string; responsePrefix?: string }[] }[];
    }>('webhooks', body.Tid!, '--merchant', merchant.merchantId);
    expect(log.deliveries[0]!.attemptLog).toEqual([
      expect.objectContaining({ error: 'refused: 127.0.0.1 is not a public address' }),
    ]);
    expect(JSON.stringify(log)).not.toContain('internal secrets');
  }, 90_000);

  const targets: [string, (port: number) => string, string][] = [
    ['an IPv4 loopback literal', (p) => `http://127.0.0.1:${p}/internal`, 'refused: 127.0.0.1 is not a public address'],
    [
      'an IPv4-mapped IPv6 literal',
      (p) => `http://[::ffff:127.0.0.1]:${p}/internal`,
      'refused: ::ffff:7f00:1 is not a public address',
    ],
    [
      'localhost (system resolver)',
      (p) => `http://localhost:${p}/internal`,
      'refused: localhost resolves to non-public address',
    ],
    [
      'a public-looking name that resolves to loopback',
      (p) => `http://merchant-hooks.example:${p}/internal`,
      'refused: merchant-hooks.example resolves to non-public address 127.0.0.1',
    ],
  ];
  it.each(targets)(
    'refuses %s at delivery time, before anything reaches the listener, for good',
    async (_label, urlFor, error) => {
      const before = listener.connections;
      const event = sandboxEvent(merchant, urlFor(port));
      await webhookEvents(stack.db).insertOne(event);
      const resolve = (hostname: string) =>
        Promise.resolve(hostname === 'merchant-hooks.example' ? [{ address: '127.0.0.1', family: 4 }] : []);
      const deps = { db: stack.db, config: publicOnly, ...(event.url.includes('merchant-hooks') ? { resolve } : {}) };

      const outcome = await deliverEvent(deps, event, 1, 1000);
      expect(outcome).toMatchObject({ delivered: false, permanent: true });
      expect(outcome.error).toContain(error);
      expect(await webhookAttempts(stack.db).findOne({ _id: `${event._id}:1` })).toMatchObject({
        delivered: false,
        nextRetryAt: null,
        error: outcome.error,
      });
      expect(listener.connections).toBe(before);
    },
  );

  it('the same loopback target is delivered to when the flag is on (the test stack): the refusal above is the flag, not the listener', async () => {
    expect(stack.config.webhook.allowPrivateTargets).toBe(true);
    const before = listener.requests;
    const event = sandboxEvent(merchant, `http://127.0.0.1:${port}/internal`);
    await webhookEvents(stack.db).insertOne(event);
    expect(await deliverEvent({ db: stack.db, config: stack.config }, event, 1, 1000)).toMatchObject({
      delivered: true,
      httpStatus: 200,
    });
    expect(listener.requests).toBe(before + 1);
  });
});

/**
 * A merchant endpoint that answers 200 at once and then streams its body without end, counting the bytes its
 * connection accepted. It writes only as fast as the connection drains, so the count is what the client side
 * actually took in (plus the socket buffers between them).
 */
class EndlessEndpoint {
  /** Only a client that reads everything gets this far (the worker before the fix): stop before it eats the test's memory. */
  static readonly SAFETY_STOP_BYTES = 64 * 1024 * 1024;
  bytesWritten = 0;
  requests = 0;
  /** The client dropped the connection while the body was still streaming. */
  droppedByClient = false;
  private server?: http.Server;

  async start(): Promise<string> {
    const chunk = Buffer.alloc(16 * 1024, 'x');
    this.server = http.createServer((req, res) => {
      this.requests += 1;
      req.resume();
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.on('close', () => {
        if (!res.writableEnded) this.droppedByClient = true;
      });
      const pump = () => {
        while (!res.destroyed) {
          if (this.bytesWritten >= EndlessEndpoint.SAFETY_STOP_BYTES) return void res.end();
          this.bytesWritten += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

it('an endpoint that answers 200 and streams without end: the attempt is recorded with its status, the worker drops the connection after a bounded number of bytes', async () => {
  const endpoint = new EndlessEndpoint();
  const callbackUrl = await endpoint.start();
  try {
    const body = paymentBody({ CallbackUrl: callbackUrl });
    expect((await post(stack.apiUrl, 'payment', merchant.testKey, body)).body.Result).toMatchObject({
      Status: 'captured',
    });
    const [deliveryId] = await deliveriesOf(keyOf(merchant, body.Tid!), 1);
    const attempt = await eventually(
      'the attempt',
      async () => (await webhookAttempts(stack.db).findOne({ _id: `${deliveryId}:1` })) ?? undefined,
    );
    expect(attempt).toMatchObject({ delivered: true, httpStatus: 200 });
    expect(attempt.error ?? undefined).toBeUndefined();
    // What is kept of an answer: its status and a 256-byte prefix, nothing more.
    expect(attempt.responsePrefix).toBe('x'.repeat(256));

    await eventually('the endpoint to see its connection dropped', () =>
      Promise.resolve(
        endpoint.droppedByClient || endpoint.bytesWritten >= EndlessEndpoint.SAFETY_STOP_BYTES ? true : undefined,
      ),
    );
    expect(endpoint.requests).toBe(1);
    // The worker reads a few hundred bytes and takes in at most the dispatcher's 64 KiB; what the endpoint counts
    // also includes the kernel's socket buffers on both sides of the loopback connection, which no client controls
    // (up to about 4 MiB here). Before the fix the worker read on until the endpoint's 64 MiB safety stop.
    expect(endpoint.bytesWritten).toBeLessThan(16 * 1024 * 1024);
    expect(endpoint.droppedByClient).toBe(true);
  } finally {
    await endpoint.stop();
  }
});

it('the delivery dispatcher alone drops a response past its cap, even for a reader that wants the whole body', async () => {
  const endpoint = new EndlessEndpoint();
  const url = await endpoint.start();
  const dispatcher = webhookDispatcher({ publicOnly: false, resolve: systemResolver, timeoutMs: 10_000 });
  try {
    const response = await fetch(url, { method: 'POST', body: '{}', dispatcher });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    await eventually('the endpoint to see its connection dropped', () =>
      Promise.resolve(
        endpoint.droppedByClient || endpoint.bytesWritten >= EndlessEndpoint.SAFETY_STOP_BYTES ? true : undefined,
      ),
    );
    // The cap is on what the client takes in; the endpoint's count adds the socket buffers (see above).
    expect(MAX_RESPONSE_BYTES).toBeLessThanOrEqual(64 * 1024);
    expect(endpoint.bytesWritten).toBeLessThan(16 * 1024 * 1024);
    expect(endpoint.droppedByClient).toBe(true);
  } finally {
    await dispatcher.destroy();
    await endpoint.stop();
  }
});

describe('live mode never calls internal addresses', () => {
  let live: CreatedMerchant;
  beforeAll(async () => {
    live = await newMerchant(stack, { live: true, liveConnector: 'simulator' });
  });

  it.each([
    'https://127.0.0.1/hook',
    'https://10.1.2.3/hook',
    'https://169.254.169.254/latest',
    'https://[::1]/hook',
    'https://localhost/hook',
    'http://shop.example/hook',
  ])('refuses CallbackUrl %s at request time (221)', async (callbackUrl) => {
    const answer = await post(stack.apiUrl, 'payment', live.liveKey!, paymentBody({ CallbackUrl: callbackUrl }));
    expect(answer.body).toEqual({ Code: 221, Error: 'Invalid parameter CallbackUrl' });
  });

  // The test stack runs with WEBHOOK_ALLOW_PRIVATE_TARGETS=true: live webhooks stay public-only whatever it says.
  it('refuses at delivery time an address literal on loopback, flag on, before anything reaches the listener', async () => {
    expect(stack.config.webhook.allowPrivateTargets).toBe(true);
    const listener = new LoopbackListener();
    const port = await listener.start();
    try {
      const event = {
        ...sandboxEvent(live, `https://127.0.0.1:${port}/hook`),
        mode: 'live' as const,
        paymentKey: 'live:ssrf-test',
      };
      await webhookEvents(stack.db).insertOne(event);
      const outcome = await deliverEvent({ db: stack.db, config: stack.config }, event, 1, 1000);
      expect(outcome).toEqual({
        delivered: false,
        permanent: true,
        error: 'refused: 127.0.0.1 is not a public address',
      });
      expect(listener.connections).toBe(0);
    } finally {
      await listener.stop();
    }
  });

  it.each(['127.0.0.1', '10.0.0.7', '169.254.169.254', '::1', '::ffff:127.0.0.1'])(
    'refuses at delivery time a name that resolves to %s, and logs why',
    async (address) => {
      const deliveryId = `whd_ssrf_${address.replace(/[^0-9a-f]/gi, '')}_${Date.now()}`;
      const event = {
        _id: deliveryId,
        paymentKey: 'live:ssrf-test',
        merchantId: live.merchantId,
        mode: 'live' as const,
        event: 'PAYMENT_CAPTURED',
        url: 'https://merchant-hooks.example/hook',
        body: '{"Code":0}',
        createdAt: new Date(),
        attempts: 0,
        delivered: false,
      };
      await webhookEvents(stack.db).insertOne(event);
      const resolve = () => Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]);
      const outcome = await deliverEvent({ db: stack.db, config: stack.config, resolve }, event, 1, 1000);
      expect(outcome).toMatchObject({ delivered: false, permanent: true });
      expect(outcome.error).toContain('non-public');
      expect(await webhookAttempts(stack.db).findOne({ _id: `${deliveryId}:1` })).toMatchObject({
        delivered: false,
        nextRetryAt: null,
      });
    },
  );
});
