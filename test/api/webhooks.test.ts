import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { deliverEvent } from '../../activities/webhook';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { rotateWebhookSecret } from '../../src/auth/accounts';
import { findPayment } from '../../src/store/payments';
import { webhookAttempts, webhookEvents } from '../../src/store/webhook-attempts';
import { verifySignature } from '../../src/webhooks/verify';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/** CONTRACT.md §8 through the running system: retries, the delivery log, resend, rotation, order, SSRF. */
const run = promisify(execFile);
const cli = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
let stack: StackClients;
let merchant: CreatedMerchant;

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
});
afterAll(() => stack.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const keyOf = (m: CreatedMerchant, tid: string) => `test:${m.merchantId}:${tid}`;

async function deliveriesOf(key: string, count: number): Promise<string[]> {
  return eventually(`${count} delivery id(s)`, async () => {
    const ids = (await findPayment(stack.db, key))?.webhookDeliveries ?? [];
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
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, body)).body.Result).toMatchObject({ Status: 'captured' });
  const [deliveryId] = await deliveriesOf(keyOf(merchant, body.Tid!), 1);
  await eventually('a refused attempt', async () => ((await webhookAttempts(stack.db).findOne({ _id: `${deliveryId}:1` }))?.error ? true : undefined));

  const receiver = new WebhookReceiver();
  receiver.respond = (_r, index) => (index === 0 ? 500 : 200);
  await receiver.start(port);
  try {
    const event = await eventually('delivery', async () => {
      const doc = await webhookEvents(stack.db).findOne({ _id: deliveryId! });
      return doc?.delivered ? doc : undefined;
    }, 30_000);
    const attempts = await webhookAttempts(stack.db).find({ deliveryId: deliveryId! }).sort({ attempt: 1 }).toArray();
    expect(attempts.length).toBe(event.attempts);
    expect(attempts[0]!.error).toBeTruthy();
    expect(attempts.map((a) => a.httpStatus).filter(Boolean)).toEqual([500, 200]);
    expect(attempts.slice(0, -1).every((a) => a.nextRetryAt instanceof Date)).toBe(true);
    expect(attempts.at(-1)!.delivered).toBe(true);
    expect(new Set(receiver.received.map((r) => r.headers['x-settleflow-delivery']))).toEqual(new Set([deliveryId]));
    for (const hook of receiver.received) {
      expect(verifySignature(hook.rawBody, String(hook.headers['x-settleflow-signature']), [merchant.webhookSecret])).toBe(true);
    }

    const { stdout } = await run(process.execPath, [cli, 'webhooks', body.Tid!, '--merchant', merchant.merchantId, '--json'], { env: process.env });
    const log = JSON.parse(stdout) as { deliveries: { _id: string; delivered: boolean; attemptLog: unknown[] }[] };
    expect(log.deliveries).toHaveLength(1);
    expect(log.deliveries[0]).toMatchObject({ _id: deliveryId, delivered: true });
    expect(log.deliveries[0]!.attemptLog).toHaveLength(event.attempts);

    const resent = await run(process.execPath, [cli, 'webhooks', 'resend', body.Reference ?? (await findPayment(stack.db, keyOf(merchant, body.Tid!)))!.reference, '--json'], { env: process.env });
    expect(JSON.parse(resent.stdout)).toMatchObject({ deliveryId, event: 'PAYMENT_CAPTURED', delivered: true });
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
  receiver.respond = (request, index) => (index < 2 && request.headers['x-settleflow-event'] === 'PAYMENT_CAPTURED' ? 500 : 200);
  const url = await receiver.start();
  try {
    const body = paymentBody({ CallbackUrl: url });
    await post(stack.apiUrl, 'payment', merchant.testKey, body);
    expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: body.Tid! })).body.Code).toBe(0);
    await eventually('both events', () => Promise.resolve(receiver.received.some((r) => r.headers['x-settleflow-event'] === 'REFUND_SUCCEEDED') ? true : undefined));
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
    const { webhookSecret: fresh } = await rotateWebhookSecret(stack.db, stack.config, rotating.merchantId, 3000);
    const during = paymentBody({ CallbackUrl: url });
    await post(stack.apiUrl, 'payment', rotating.testKey, during);
    const [overlap] = await eventually('a webhook during the overlap', () => Promise.resolve(receiver.forTid(during.Tid!).length ? receiver.forTid(during.Tid!) : undefined));
    const header = String(overlap!.headers['x-settleflow-signature']);
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(verifySignature(overlap!.rawBody, header, [fresh])).toBe(true);
    expect(verifySignature(overlap!.rawBody, header, [rotating.webhookSecret])).toBe(true);

    await sleep(3200);
    const after = paymentBody({ CallbackUrl: url });
    await post(stack.apiUrl, 'payment', rotating.testKey, after);
    const [late] = await eventually('a webhook after the overlap', () => Promise.resolve(receiver.forTid(after.Tid!).length ? receiver.forTid(after.Tid!) : undefined));
    const lateHeader = String(late!.headers['x-settleflow-signature']);
    expect(lateHeader.match(/v1=/g)).toHaveLength(1);
    expect(verifySignature(late!.rawBody, lateHeader, [fresh])).toBe(true);
    expect(verifySignature(late!.rawBody, lateHeader, [rotating.webhookSecret])).toBe(false);
  } finally {
    await receiver.stop();
  }
});

describe('live mode never calls internal addresses', () => {
  let live: CreatedMerchant;
  beforeAll(async () => {
    live = await newMerchant(stack, { live: true, liveConnector: 'simulator' });
  });

  it.each(['https://127.0.0.1/hook', 'https://10.1.2.3/hook', 'https://169.254.169.254/latest', 'https://[::1]/hook', 'https://localhost/hook', 'http://shop.example/hook'])(
    'refuses CallbackUrl %s at request time (221)',
    async (callbackUrl) => {
      const answer = await post(stack.apiUrl, 'payment', live.liveKey!, paymentBody({ CallbackUrl: callbackUrl }));
      expect(answer.body).toEqual({ Code: 221, Error: 'Invalid parameter CallbackUrl' });
    },
  );

  it.each(['127.0.0.1', '10.0.0.7', '169.254.169.254', '::1', '::ffff:127.0.0.1'])(
    'refuses at delivery time a name that resolves to %s, and logs why',
    async (address) => {
      const deliveryId = `whd_ssrf_${address.replace(/[^0-9a-f]/gi, '')}_${Date.now()}`;
      const event = {
        _id: deliveryId, paymentKey: 'live:ssrf-test', merchantId: live.merchantId, mode: 'live' as const, event: 'PAYMENT_CAPTURED',
        url: 'https://merchant-hooks.example/hook', body: '{"Code":0}', createdAt: new Date(), attempts: 0, delivered: false,
      };
      await webhookEvents(stack.db).insertOne(event);
      const resolve = () => Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]);
      const outcome = await deliverEvent({ db: stack.db, config: stack.config, resolve }, event, 1, 1000);
      expect(outcome).toMatchObject({ delivered: false, permanent: true });
      expect(outcome.error).toContain('non-public');
      expect(await webhookAttempts(stack.db).findOne({ _id: `${deliveryId}:1` })).toMatchObject({ delivered: false, nextRetryAt: null });
    },
  );
});
