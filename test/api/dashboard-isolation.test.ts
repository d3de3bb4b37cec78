import { parseApiKey } from '../../src/auth/key-format';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { apiKeys } from '../../src/store/api-keys';
import { merchants } from '../../src/store/merchants';
import { paymentWebhooks } from '../../src/store/webhook-attempts';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { DashboardBrowser, newDashboardUser } from '../support/dashboard';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * Tenant and mode isolation (docs/dashboard-api.md, "Isolation"): a user of merchant A tries every dashboard endpoint
 * with merchant B's Tid, Reference, Uid, key id and delivery id, and with its own ids in the other mode. Every
 * answer is 404 (or, for lists, A's own data only): never B's data, never a 403 that would tell B's ids exist.
 */
let stack: StackClients;
let a: CreatedMerchant;
let b: CreatedMerchant;
const receiver = new WebhookReceiver();
let callbackUrl: string;
let asA: DashboardBrowser;
let viewerOfA: DashboardBrowser;

interface Paid {
  tid: string;
  reference: string;
  uid: string;
  deliveryId: string;
}

async function pay(merchant: CreatedMerchant, key: string, mode: 'test' | 'live', uid: string): Promise<Paid> {
  // Live callbacks must be public https: a name that does not resolve is accepted, and its delivery filed.
  const body = paymentBody({ Uid: uid, CallbackUrl: mode === 'live' ? 'https://shop.example/hooks' : callbackUrl });
  const answer = await post(stack.apiUrl, 'payment', key, body);
  expect(answer.body.Result).toMatchObject({ Status: 'captured' });
  const [deliveryId] = await eventually('a webhook delivery', async () => {
    const ids = (await paymentWebhooks(stack.db).findOne({ _id: `${mode}:${merchant.merchantId}:${body.Tid}` }))
      ?.deliveryIds;
    return ids?.length ? ids : undefined;
  });
  return { tid: body.Tid!, reference: answer.body.Result!.Reference as string, uid, deliveryId: deliveryId! };
}

let ofA: Paid;
let ofB: Paid;
let liveOfA: Paid;
let keyOfB: string;
let testKeyOfA: string;

beforeAll(async () => {
  stack = await connectToStack();
  callbackUrl = await receiver.start();
  a = await newMerchant(stack, { live: true, liveConnector: 'simulator' });
  b = await newMerchant(stack, { live: true, liveConnector: 'simulator' });
  ofA = await pay(a, a.testKey, 'test', 'customer-of-a');
  liveOfA = await pay(a, a.liveKey!, 'live', 'live-customer-of-a');
  ofB = await pay(b, b.testKey, 'test', 'customer-of-b');
  keyOfB = parseApiKey(b.testKey)!.keyId;
  testKeyOfA = parseApiKey(a.testKey)!.keyId;
  asA = new DashboardBrowser(stack.apiUrl);
  expect((await asA.signIn(await newDashboardUser(stack.db, a.merchantId))).status).toBe(200);
  viewerOfA = new DashboardBrowser(stack.apiUrl);
  expect((await viewerOfA.signIn(await newDashboardUser(stack.db, a.merchantId, 'viewer'))).status).toBe(200);
});
afterAll(async () => {
  await receiver.stop();
  await stack.close();
});

const enc = encodeURIComponent;

it("every endpoint that names a payment, key or delivery answers 404 for another merchant's or mode's", async () => {
  const probes: [string, string][] = [
    // B's payment, in A's session, in both modes.
    ['GET', `/test/payments/${enc(ofB.tid)}`],
    ['GET', `/live/payments/${enc(ofB.tid)}`],
    ['POST', `/test/payments/${enc(ofB.tid)}/refund`],
    ['POST', `/test/payments/${enc(ofB.tid)}/webhooks/${ofB.deliveryId}/resend`],
    // B's delivery id under A's own payment.
    ['POST', `/test/payments/${enc(ofA.tid)}/webhooks/${ofB.deliveryId}/resend`],
    // A's own ids, in the other mode.
    ['GET', `/live/payments/${enc(ofA.tid)}`],
    ['POST', `/live/payments/${enc(ofA.tid)}/refund`],
    ['POST', `/live/payments/${enc(ofA.tid)}/webhooks/${ofA.deliveryId}/resend`],
    ['GET', `/test/payments/${enc(liveOfA.tid)}`],
    ['POST', `/test/payments/${enc(liveOfA.tid)}/refund`],
    ['POST', `/test/payments/${enc(liveOfA.tid)}/webhooks/${liveOfA.deliveryId}/resend`],
    // Keys: B's key id, and A's test key id under live.
    ['POST', `/test/keys/${keyOfB}/revoke`],
    ['POST', `/live/keys/${keyOfB}/revoke`],
    ['POST', `/live/keys/${testKeyOfA}/revoke`],
    // A Reference or a payment key is not a Tid.
    ['GET', `/test/payments/${enc(ofB.reference)}`],
    ['GET', `/test/payments/${enc(`test:${b.merchantId}:${ofB.tid}`)}`],
    // No third mode.
    ['GET', `/sandbox/payments/${enc(ofA.tid)}`],
    ['GET', '/sandbox/payments'],
    ['GET', '/sandbox/overview'],
  ];
  for (const [method, path] of probes) {
    const res = await asA.call(method, path, method === 'POST' ? {} : undefined);
    expect([method, path, res.status, res.body]).toEqual([
      method,
      path,
      404,
      { error: { code: 'not_found', message: 'not found' } },
    ]);
    expect(res.text).not.toContain(b.merchantId);
  }
  // Nothing happened to B: its payment is not refunded, its key is current, its delivery has no new attempt.
  const keyB = await apiKeys(stack.db).findOne({ _id: keyOfB });
  expect(keyB).toMatchObject({ revokedAt: null, expiresAt: null });
  const statusB = await post(stack.apiUrl, 'status', b.testKey, { Tid: ofB.tid });
  expect(statusB.body.Result).toMatchObject({ OperationType: 'payment', Status: 'captured' });
});

it("lists, searches, CSV, overview and developers show the session's merchant and mode only", async () => {
  const everyText: string[] = [];
  const list = await asA.call<{ payments: { tid: string }[] }>('GET', '/test/payments?limit=100');
  expect(list.body.payments.map((p) => p.tid)).toEqual([ofA.tid]);
  const live = await asA.call<{ payments: { tid: string }[] }>('GET', '/live/payments');
  expect(live.body.payments.map((p) => p.tid)).toEqual([liveOfA.tid]);
  for (const q of [ofB.tid, ofB.reference, ofB.uid, liveOfA.tid, liveOfA.reference, liveOfA.uid]) {
    const found = await asA.call<{ payments: unknown[] }>('GET', `/test/payments?q=${enc(q)}`);
    expect([q, found.status, found.body.payments]).toEqual([q, 200, []]);
    everyText.push(found.text);
  }
  for (const q of [ofA.tid, ofA.reference, ofA.uid]) {
    const found = await asA.call<{ payments: { tid: string }[] }>('GET', `/test/payments?q=${enc(q)}`);
    expect(found.body.payments.map((p) => p.tid)).toEqual([ofA.tid]);
  }
  const csv = await asA.call('GET', '/test/payments.csv');
  expect(csv.status).toBe(200);
  expect(csv.text).toContain(ofA.tid);
  everyText.push(csv.text);
  const overview = await asA.call<{ days: { count: number }[] }>('GET', '/test/overview?days=2');
  expect(overview.body.days.reduce((n, d) => n + d.count, 0)).toBe(1);
  const developers = await asA.call<{ keys: { keyId: string }[] }>('GET', '/test/developers');
  expect(developers.body.keys.map((k) => k.keyId)).toEqual([testKeyOfA]);
  everyText.push(developers.text, list.text, live.text);
  for (const text of everyText) {
    expect(text).not.toContain(ofB.tid);
    expect(text).not.toContain(b.merchantId);
    expect(text).not.toContain(keyOfB);
  }
});

it('a viewer is refused every change (403 forbidden) and still reads', async () => {
  const changes: [string, string][] = [
    ['POST', `/test/payments/${enc(ofA.tid)}/refund`],
    ['POST', `/test/payments/${enc(ofA.tid)}/webhooks/${ofA.deliveryId}/resend`],
    ['POST', '/test/keys'],
    ['POST', `/test/keys/${testKeyOfA}/revoke`],
    ['POST', '/webhook-secret/rotate'],
    ['POST', '/test/webhook-test'],
  ];
  for (const [method, path] of changes) {
    const res = await viewerOfA.call(method, path, { url: callbackUrl });
    expect([path, res.status, res.body]).toEqual([
      path,
      403,
      { error: { code: 'forbidden', message: expect.any(String) } },
    ]);
  }
  expect((await viewerOfA.call('GET', `/test/payments/${enc(ofA.tid)}`)).status).toBe(200);
  const status = await post(stack.apiUrl, 'status', a.testKey, { Tid: ofA.tid });
  expect(status.body.Result).toMatchObject({ OperationType: 'payment', Status: 'captured' });
  expect(await apiKeys(stack.db).findOne({ _id: testKeyOfA })).toMatchObject({ revokedAt: null, expiresAt: null });
});

it('signed out, every endpoint is 401 and shows nothing', async () => {
  const anonymous = new DashboardBrowser(stack.apiUrl);
  for (const [method, path] of [
    ['GET', '/session'],
    ['GET', '/test/payments'],
    ['GET', '/test/payments.csv'],
    ['GET', `/test/payments/${enc(ofA.tid)}`],
    ['POST', `/test/payments/${enc(ofA.tid)}/refund`],
    ['POST', `/test/payments/${enc(ofA.tid)}/webhooks/${ofA.deliveryId}/resend`],
    ['GET', '/test/overview'],
    ['GET', '/test/developers'],
    ['POST', '/test/keys'],
    ['POST', `/test/keys/${testKeyOfA}/revoke`],
    ['POST', '/webhook-secret/rotate'],
    ['POST', '/test/webhook-test'],
  ]) {
    const res = await anonymous.call(method!, path!, method === 'POST' ? {} : undefined, { csrf: 'anything' });
    expect([path, res.status, res.body]).toEqual([
      path,
      401,
      { error: { code: 'unauthenticated', message: expect.any(String) } },
    ]);
  }
});

it("rotations touch the session's merchant and mode only: B's keys and secrets, and A's other mode, stay as they were", async () => {
  const keysOfB = await apiKeys(stack.db).find({ merchantId: b.merchantId }).toArray();
  const liveOfAKeys = await apiKeys(stack.db).find({ merchantId: a.merchantId, mode: 'live' }).toArray();
  const secretsOfB = (await merchants(stack.db).findOne({ _id: b.merchantId }))!.webhookSecrets;
  expect((await asA.call('POST', '/test/keys', { graceHours: 1 })).status).toBe(200);
  expect((await asA.call('POST', '/webhook-secret/rotate', { graceHours: 1 })).status).toBe(200);
  expect(await apiKeys(stack.db).find({ merchantId: b.merchantId }).toArray()).toEqual(keysOfB);
  expect(await apiKeys(stack.db).find({ merchantId: a.merchantId, mode: 'live' }).toArray()).toEqual(liveOfAKeys);
  expect((await merchants(stack.db).findOne({ _id: b.merchantId }))!.webhookSecrets).toEqual(secretsOfB);
  // B's key still pays.
  expect((await post(stack.apiUrl, 'status', b.testKey, { Tid: ofB.tid })).body.Code).toBe(0);
});
