import type { CreatedMerchant } from '../../src/auth/accounts';
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
  const body = paymentBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return', CallbackUrl: callbackUrl, ...overrides });
  const answer = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(answer.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
  const url = answer.body.Result!['3DSecureUrl'] as string;
  const page = await (await fetch(url)).text();
  const token = /name="token" value="([0-9a-f]{64})"/.exec(page)?.[1];
  return { body, url, token: token!, reference: answer.body.Result!.Reference as string };
}

const submit = (url: string, form: Record<string, string>) =>
  fetch(url, { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' }).then(async (res) => ({ status: res.status, html: await res.text(), csp: res.headers.get('content-security-policy') }));

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
  await eventually('the timeout', async () => {
    const status = await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! });
    return status.body.Result!.Status === 'cancelled' ? status : undefined;
  }, 20_000);
  const [hook] = await eventually('the webhook', () => Promise.resolve(receiver.forTid(body.Tid!).length ? receiver.forTid(body.Tid!) : undefined));
  expect(hook!.headers['x-settleflow-event']).toBe('PAYMENT_CANCELLED');
  await eventually('the vault entry to go', async () => ((await stack.db.collection('vault').countDocuments({ paymentKey: key })) === 0 ? true : undefined));

  // Submitting after the timeout changes nothing and says so.
  const late = await submit(url, { token, result: 'approved' });
  expect(late.status).toBe(200);
  expect(late.html).toContain('Authentication expired');
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result!.Status).toBe('cancelled');
});

it('a second submission is harmless: the first answer stands', async () => {
  const { body, url, token } = await challenge();
  const first = await submit(url, { token, result: 'approved' });
  expect(first.html).toContain('Payment complete');
  const second = await submit(url, { token, result: 'failed' });
  expect(second.html).toContain('Payment complete');
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result!.Status).toBe('captured');
  const workflowId = `payment-test-${merchant.merchantId}-${body.Tid}`;
  expect(amountsMoved(await moneyMoved(stack.db, workflowId))).toEqual({ captures: [Number(body.Amount)], refunds: [] });
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
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result!.Status).toBe('pending');
});
