import type { CreatedMerchant } from '../../src/auth/accounts';
import { insertPayment, payments } from '../../src/store/payment-records';
import { recordReference } from '../../src/store/references';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { amountsMoved, moneyMoved } from '../support/money';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * The 3-D Secure paths that need no browser: the timeout, repeated and late submissions, forged forms. The
 * browser journeys themselves are in test/browser/.
 */
let stack: StackClients;
let merchant: CreatedMerchant;
const receiver = new WebhookReceiver();
let callbackUrl: string;

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack, { threeDSTimeoutMs: 3000 });
  callbackUrl = await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
  await stack.close();
});

async function challenge(overrides: Record<string, string> = {}) {
  const body = paymentBody({
    '3DS': 'yes',
    ReturnUrl: 'https://shop.example/return',
    CallbackUrl: callbackUrl,
    ...overrides,
  });
  const answer = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(answer.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
  const url = answer.body.Result!['3DSecureUrl'] as string;
  const page = await (await fetch(url)).text();
  const token = /name="token" value="([0-9a-f]{64})"/.exec(page)?.[1];
  return { body, url, token: token!, reference: answer.body.Result!.Reference as string };
}

const submit = (url: string, form: Record<string, string>) =>
  fetch(url, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' }).then(async (res) => ({
    status: res.status,
    html: await res.text(),
    csp: res.headers.get('content-security-policy'),
  }));

it('shows the amount, the merchant and the masked card only, in a page that cannot be framed', async () => {
  const { url, body } = await challenge();
  const res = await fetch(url);
  const html = await res.text();
  expect(html).toContain('12.34 EUR');
  expect(html).toContain('411111******1111');
  expect(html).not.toContain(body.CardNumber);
  expect(html).toContain('Complete authentication');
  expect(html).toContain('Fail authentication');
  expect(res.headers.get('x-frame-options')).toBe('DENY');
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
});

it('a challenge left unanswered ends cancelled after the account timeout, with a webhook and no card data kept', async () => {
  const { body, url, token } = await challenge();
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  await eventually(
    'the timeout',
    async () => {
      const status = await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! });
      return status.body.Result!.Status === 'cancelled' ? status : undefined;
    },
    20_000,
  );
  const [hook] = await eventually('the webhook', () =>
    Promise.resolve(receiver.forTid(body.Tid!).length ? receiver.forTid(body.Tid!) : undefined),
  );
  expect(hook!.headers['x-settleflow-event']).toBe('PAYMENT_CANCELLED');
  await eventually('the vault entry to go', async () =>
    (await stack.db.collection('vault').countDocuments({ paymentKey: key })) === 0 ? true : undefined,
  );

  // Submitting after the timeout changes nothing and says so.
  const late = await submit(url, { token, result: 'approved' });
  expect(late.status).toBe(200);
  expect(late.html).toContain('Authentication expired');
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result!.Status).toBe(
    'cancelled',
  );
});

it('a second submission is harmless: the first answer stands', async () => {
  const { body, url, token } = await challenge();
  const first = await submit(url, { token, result: 'approved' });
  expect(first.html).toContain('Payment complete');
  const second = await submit(url, { token, result: 'failed' });
  expect(second.html).toContain('Payment complete');
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result!.Status).toBe(
    'captured',
  );
  const workflowId = `payment-test-${merchant.merchantId}-${body.Tid}`;
  expect(amountsMoved(await moneyMoved(stack.db, workflowId))).toEqual({
    captures: [Number(body.Amount)],
    refunds: [],
  });
});

it('a forged token, a missing answer, an unknown or tampered Reference: a clear page and no state change', async () => {
  const { body, url, token, reference } = await challenge();
  expect((await submit(url, { token: 'f'.repeat(64), result: 'approved' })).status).toBe(403);
  expect((await submit(url, { token })).status).toBe(403);
  const otherToken = (await challenge()).token;
  expect((await submit(url, { token: otherToken, result: 'approved' })).status).toBe(403);
  const tampered = url.replace(reference, `${reference.slice(0, -1)}${reference.endsWith('A') ? 'B' : 'A'}`);
  expect((await fetch(tampered)).status).toBe(404);
  expect((await submit(tampered, { token, result: 'approved' })).status).toBe(404);
  expect((await fetch(`${stack.apiUrl}/v1/3ds/<script>`)).status).toBe(404);
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result!.Status).toBe(
    'pending',
  );
});

it('a customer who arrives before the challenge is ready gets a page that reloads itself, then the form', async () => {
  // A 3DS payment whose workflow has written its record but not reached the challenge yet (a worker restarting).
  const tid = `early-${Date.now()}`;
  const key = `test:${merchant.merchantId}:${tid}`;
  const reference = `pr_early${Date.now()}abcdefghijkl`;
  const now = new Date();
  await insertPayment(stack.db, {
    _id: key,
    mode: 'test',
    merchantId: merchant.merchantId,
    tid,
    reference,
    uid: 'u',
    amount: 1234,
    currency: 'EUR',
    maskedPan: '411111******1111',
    brand: 'visa',
    workflowId: `payment-test-${merchant.merchantId}-${tid}`,
    status: 'pending',
    message: 'Payment is being processed',
    threeDS: true,
    returnUrl: 'https://shop.example/return',
    seq: 0,
    createdAt: now,
    updatedAt: now,
  });
  await recordReference(stack.db, {
    _id: reference,
    kind: 'payment',
    paymentKey: key,
    merchantId: merchant.merchantId,
    mode: 'test',
  });
  const early = await fetch(`${stack.apiUrl}/v1/3ds/${reference}`);
  const html = await early.text();
  expect(early.status).toBe(200);
  expect(html).toContain('Preparing authentication');
  expect(html).toContain('<meta http-equiv="refresh"');
  // Not an outcome: the customer is not sent back to the merchant with `pending`.
  expect(html).not.toContain('shop.example');

  await payments(stack.db).updateOne(
    { _id: key },
    { $set: { threeDSUrl: `${stack.apiUrl}/v1/3ds/${reference}`, seq: 1 } },
  );
  expect(await (await fetch(`${stack.apiUrl}/v1/3ds/${reference}`)).text()).toMatch(
    /name="token" value="[0-9a-f]{64}"/,
  );
});
