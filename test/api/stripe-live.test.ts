import path from 'node:path';
import Stripe from 'stripe';
import { connectProcessor } from '../../src/auth/processor-credentials';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { findPayment } from '../../src/store/payment-records';
import { processorEvents } from '../../src/store/processor-events';
import { processorReferences } from '../../src/store/processor-references';
import { type StripeMock, startStripeMock } from '../../tools/servers';
import { paymentKey } from '../../workflows/vocabulary';
import { scanForCardData } from '../support/card-scan';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { type PrivateStack, startPrivateStack } from '../support/private-stack';
import { RecordingProxy } from '../support/recording-proxy';
import { STRIPE_MOCK_PLAYS } from '../support/stripe-mock';

/**
 * A live merchant connected to Stripe, end to end through the real API, worker and Temporal, with stripe-mock as
 * Stripe: every request the connector sends is checked by stripe-mock against Stripe's API description. Which
 * status a PaymentIntent has is stripe-mock's fixture (test/support/stripe-mock.ts): one instance plays an
 * approving processor, another one whose every intent wants 3-D Secure, and the recording proxy in front of them
 * (the worker's STRIPE_API_URL) switches between the two and keeps every call for the checks.
 */
jest.setTimeout(120_000);

const WEBHOOK_SECRET = 'whsec_settleflowstripelivetest';
let approving: StripeMock;
let challenging: StripeMock;
let proxy: RecordingProxy;
let stack: PrivateStack;
let merchant: CreatedMerchant;

beforeAll(async () => {
  const dir = `${process.env.DATA_DIR ?? '.data'}/stripe-live-${process.pid}`;
  [approving, challenging] = await Promise.all([
    startStripeMock({ dir, fixtures: STRIPE_MOCK_PLAYS.approving, name: 'stripe-mock-approving' }),
    startStripeMock({ dir, fixtures: STRIPE_MOCK_PLAYS.challenging, name: 'stripe-mock-challenging' }),
  ]);
  proxy = new RecordingProxy(new URL(approving.url));
  const api = await proxy.start();
  stack = await startPrivateStack({
    STRIPE_API_URL: `http://${api.host}:${api.port}`,
    STRIPE_ALLOW_TEST_KEYS_FOR_LIVE: 'true',
    // The card scan at the end reads the logs at the level that would show the most.
    LOG_LEVEL: 'debug',
  });
  merchant = await newMerchant(stack, { live: true, threeDSTimeoutMs: 4_000, refundWindowMs: 60_000 });
  // stripe-mock takes test keys only: the live account holds one (STRIPE_ALLOW_TEST_KEYS_FOR_LIVE).
  await connectProcessor(stack.db, stack.config.vaultKeys, {
    merchantId: merchant.merchantId,
    mode: 'live',
    connector: 'stripe',
    secretKey: 'sk_test_settleflowstripemock',
    webhookSecret: WEBHOOK_SECRET,
    webhookSecretGraceMs: 0,
    allowTestKeyForLive: true,
  });
}, 180_000);

afterAll(async () => {
  await stack?.close();
  await proxy?.stop();
  await Promise.all([approving?.stop(), challenging?.stop()]);
});

beforeEach(() => proxy.retarget(new URL(approving.url)));

const liveBody = (overrides: Record<string, string> = {}) =>
  paymentBody({ CardNumber: '4242424242424242', ...overrides });
const callsFor = (tid: string) =>
  proxy.calls.filter((c) => c.rawBody.includes(encodeURIComponent(tid)) || c.rawBody.includes(tid));

async function intentOf(tid: string): Promise<string> {
  const key = paymentKey('live', merchant.merchantId, tid);
  const reference = await eventually(
    'the processor reference filed',
    async () => (await processorReferences(stack.db).find({ paymentKey: key }).toArray())[0],
  );
  return reference.pspReference;
}

it('pays, captures and refunds through Stripe, each call with its own idempotency key, the card only where it must go', async () => {
  const body = liveBody();
  const paid = await post(stack.apiUrl, 'payment', merchant.liveKey!, body);
  expect(paid.body).toMatchObject({ Code: 0, Result: { Status: 'captured', Tid: body.Tid } });

  const intent = await intentOf(body.Tid!);
  const workflowId = `payment-live-${merchant.merchantId}-${body.Tid}`;
  const paths = proxy.calls.filter((c) => c.idempotencyKey?.startsWith(workflowId)).map((c) => `${c.method} ${c.path}`);
  expect(paths).toEqual([
    'POST /v1/payment_methods',
    'POST /v1/payment_intents',
    `POST /v1/payment_intents/${intent}/capture`,
  ]);
  const keys = proxy.calls.filter((c) => c.idempotencyKey?.startsWith(workflowId)).map((c) => c.idempotencyKey);
  expect(new Set(keys).size).toBe(3);
  // The card goes to Stripe once, in the PaymentMethod; the intent carries the labels that route its events.
  const withCard = proxy.calls.filter((c) => c.rawBody.includes('4242424242424242'));
  expect(withCard.map((c) => c.path)).toEqual(['/v1/payment_methods']);
  expect(callsFor(body.Tid!).find((c) => c.path === '/v1/payment_intents')?.params).toMatchObject({
    amount: '1234',
    capture_method: 'manual',
    confirm: 'true',
    'metadata[settleflow_workflow_id]': workflowId,
  });

  const refunded = await post(stack.apiUrl, 'refund', merchant.liveKey!, { Tid: body.Tid! });
  expect(refunded.body).toMatchObject({ Code: 0, Result: { OperationType: 'refund', Status: 'captured' } });
  const refundCall = proxy.calls.find((c) => c.path === '/v1/refunds' && c.params.payment_intent === intent);
  expect(refundCall?.idempotencyKey).toMatch(new RegExp(`^${workflowId}:refund:`));

  const status = await post(stack.apiUrl, 'status', merchant.liveKey!, { Tid: body.Tid! });
  expect(status.body.Result).toMatchObject({ Status: 'captured' });
  const record = await findPayment(stack.db, paymentKey('live', merchant.merchantId, body.Tid!));
  expect(JSON.stringify(record)).not.toContain('4242424242424242');
});

it('sends the cardholder to Stripe for 3-D Secure and captures when they come back authenticated', async () => {
  proxy.retarget(new URL(challenging.url));
  const body = liveBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  const paid = await post(stack.apiUrl, 'payment', merchant.liveKey!, body);
  expect(paid.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
  const threeDSUrl = String(paid.body.Result!['3DSecureUrl']);
  expect(threeDSUrl).toContain('/v1/3ds/');
  const intent = await intentOf(body.Tid!);
  expect(callsFor(body.Tid!).find((c) => c.path === '/v1/payment_intents')?.params).toMatchObject({
    'payment_method_options[card][request_three_d_secure]': 'challenge',
    return_url: `${threeDSUrl}/return`,
  });

  // The link goes to Stripe's page (the fixture's), never to the sandbox's buttons.
  const link = await eventually('the challenge offered', async () => {
    const res = await fetch(threeDSUrl, { redirect: 'manual' });
    return res.status === 302 ? res : undefined;
  });
  expect(link.headers.get('location')).toBe(
    STRIPE_MOCK_PLAYS.challenging.payment_intent.next_action.redirect_to_url.url,
  );
  const sandboxAnswer = await fetch(threeDSUrl, { method: 'POST', body: new URLSearchParams({ result: 'approved' }) });
  expect(sandboxAnswer.status).toBe(404);

  // Stripe now holds the authorization: the return makes the workflow ask it, then capture.
  proxy.retarget(new URL(approving.url));
  const back = await fetch(`${threeDSUrl}/return?payment_intent=${intent}`);
  expect(back.status).toBe(200);
  expect(await back.text()).toContain('Payment complete');
  const status = await post(stack.apiUrl, 'status', merchant.liveKey!, { Tid: body.Tid! });
  expect(status.body.Result).toMatchObject({ Status: 'captured' });
  expect(proxy.calls.some((c) => c.method === 'GET' && c.path.startsWith(`/v1/payment_intents/${intent}`))).toBe(true);
});

it('asks Stripe once more at the 3-D Secure timeout, then cancels the intent (the void) and the payment', async () => {
  proxy.retarget(new URL(challenging.url));
  const body = liveBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  await post(stack.apiUrl, 'payment', merchant.liveKey!, body);
  const intent = await intentOf(body.Tid!);
  const status = await eventually(
    'cancelled',
    async () => {
      const answer = await post(stack.apiUrl, 'status', merchant.liveKey!, { Tid: body.Tid! });
      return answer.body.Result?.Status === 'cancelled' ? answer : undefined;
    },
    30_000,
  );
  expect(status.body.Result).toMatchObject({ Status: 'cancelled' });
  const cancel = proxy.calls.find((c) => c.path === `/v1/payment_intents/${intent}/cancel`);
  expect(cancel?.idempotencyKey).toMatch(/:void:cancel$/);
  expect(proxy.calls.filter((c) => c.path.endsWith(`${intent}/capture`))).toEqual([]);
});

it('takes a signed Stripe event for a payment in its challenge, once, and refuses one signed with another secret', async () => {
  proxy.retarget(new URL(challenging.url));
  const body = liveBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  await post(stack.apiUrl, 'payment', merchant.liveKey!, body);
  const intent = await intentOf(body.Tid!);
  proxy.retarget(new URL(approving.url));

  const event = JSON.stringify({
    id: `evt_${intent.slice(3)}`,
    object: 'event',
    type: 'payment_intent.amount_capturable_updated',
    livemode: true,
    data: { object: { id: intent, object: 'payment_intent' } },
  });
  const send = (secret: string) =>
    fetch(`${stack.apiUrl}/v1/processors/stripe/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: event, secret }),
      },
      body: event,
    });

  const forged = await send('whsec_someoneelse');
  expect(forged.status).toBe(400);
  const first = await send(WEBHOOK_SECRET);
  expect(await first.json()).toEqual({ received: true });
  const again = await send(WEBHOOK_SECRET);
  expect(await again.json()).toEqual({ received: true, duplicate: true });

  // The event only nudged: the workflow asked Stripe, which holds the authorization now, and captured.
  await eventually('captured', async () => {
    const answer = await post(stack.apiUrl, 'status', merchant.liveKey!, { Tid: body.Tid! });
    return answer.body.Result?.Status === 'captured' ? answer : undefined;
  });
  const recorded = await processorEvents(stack.db).find({ pspReference: intent }).toArray();
  expect(recorded).toHaveLength(1);
  expect(recorded[0]).toMatchObject({ type: 'payment_intent.amount_capturable_updated', mode: 'live' });

  const unknown = await fetch(`${stack.apiUrl}/v1/processors/stripe/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      id: 'evt_x',
      type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_unknown', object: 'payment_intent' } },
    }),
  });
  expect(await unknown.json()).toEqual({ received: false, reason: 'no such payment' });
});

it('retries an authorization whose answer was lost with the same idempotency keys, and the payment ends once', async () => {
  const body = liveBody();
  // The PaymentMethod goes through; the PaymentIntent is created at Stripe but its answer never comes back.
  proxy.inject({ kind: 'pass' }, { kind: 'drop' });
  const paid = await post(stack.apiUrl, 'payment', merchant.liveKey!, body);
  expect(paid.body).toMatchObject({ Code: 0, Result: { Status: 'captured' } });

  const workflowId = `payment-live-${merchant.merchantId}-${body.Tid}`;
  const creates = proxy.calls.filter(
    (c) => c.path === '/v1/payment_intents' && c.idempotencyKey?.startsWith(workflowId),
  );
  expect(creates.length).toBeGreaterThanOrEqual(2);
  expect(new Set(creates.map((c) => c.idempotencyKey))).toEqual(new Set([`${workflowId}:payment_intent`]));
  const captures = proxy.calls.filter((c) => c.path.endsWith('/capture') && c.idempotencyKey?.startsWith(workflowId));
  expect(new Set(captures.map((c) => c.idempotencyKey)).size).toBe(1);
});

it('leaves the card nowhere but in the PaymentMethod request to Stripe: histories, records, logs, other traffic', async () => {
  const pmRequests = proxy.calls.filter((c) => c.method === 'POST' && c.path === '/v1/payment_methods');
  expect(pmRequests.length).toBeGreaterThan(0);
  // The one place the card must go: and the scan would see it there.
  expect(pmRequests.every((c) => c.rawBody.includes('4242424242424242'))).toBe(true);
  const traffic = proxy.calls.flatMap((call) => [
    ...(pmRequests.includes(call) ? [] : [{ where: `the request ${call.method} ${call.path}`, text: call.rawBody }]),
    { where: `the answer to ${call.method} ${call.path}`, text: call.answer ?? '' },
  ]);
  const report = await scanForCardData(stack.temporal, stack.db, path.join(stack.config.dataDir, 'logs'), traffic);
  expect(report.findings).toEqual([]);
  expect(report.histories).toBeGreaterThanOrEqual(4);
  expect(report.collections.processor_references).toBeGreaterThanOrEqual(4);
  expect(report.collections.processor_credentials).toBe(1);
});
