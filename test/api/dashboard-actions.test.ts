import { parseApiKey } from '../../src/auth/key-format';
import { TEST_EVENTS_PER_MINUTE } from '../../src/http/dashboard/developers';
import { findPayment } from '../../src/store/payment-records';
import { paymentKey } from '../../workflows/vocabulary';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { DashboardBrowser, newDashboardUser } from '../support/dashboard';
import { eventually, paymentBody, post, uniqueTid, useStackWithMerchant } from '../support/factories';
import { signatureMatches } from '../support/signature';

/** What an admin does in the dashboard, checked against what the E-PRO API and the receiver then see. */
const shop = useStackWithMerchant({ live: true });
const receiver = new WebhookReceiver();
let callbackUrl: string;
let admin: DashboardBrowser;
/** The merchant's sandbox key: the rotation test below replaces it. */
let apiKey: string;

beforeAll(async () => {
  callbackUrl = await receiver.start();
  apiKey = shop.merchant.testKey;
  admin = new DashboardBrowser(shop.stack.apiUrl);
  expect((await admin.signIn(await newDashboardUser(shop.stack.db, shop.merchant.merchantId))).status).toBe(200);
});
afterAll(() => receiver.stop());

const enc = encodeURIComponent;

interface Detail {
  tid: string;
  processorReference?: string;
  status: string;
  refundable: boolean;
  maskedPan: string;
  timeline: { event: string; at: string; detail?: string }[];
  webhooks: {
    deliveryId: string;
    event: string;
    delivered: boolean;
    attempts: { attempt: number; httpStatus?: number }[];
  }[];
  refund?: { reference: string; status: string };
}

/** Tids with a `/` and a `#`, which the dashboard's paths carry URL-encoded. */
async function pay(overrides: Record<string, string> = {}) {
  const body = paymentBody({ CallbackUrl: callbackUrl, Tid: `${uniqueTid('dash/')}#1`, ...overrides });
  const answer = await post(shop.stack.apiUrl, 'payment', apiKey, body);
  return { body, answer };
}

it('a payment page: summary, timeline, webhooks with their attempts; then Refund, seen by /v1/status/direct', async () => {
  const { body } = await pay();
  const path = `/test/payments/${enc(body.Tid!)}`;
  const detail = await eventually('the delivered webhook on the page', async () => {
    const res = await admin.call<Detail>('GET', path);
    return res.body.webhooks?.[0]?.delivered ? res : undefined;
  });
  expect(detail.status).toBe(200);
  expect(detail.text).not.toContain(body.CardNumber);
  expect(detail.body).toMatchObject({
    tid: body.Tid,
    status: 'captured',
    refundable: true,
    maskedPan: '411111******1111',
  });
  expect(detail.body.timeline.map((t) => t.event)).toEqual(['accepted', 'authorized', 'captured']);
  // The simulator's authorization reference, kept on the payment's record (so it outlives the workflow's history).
  expect(detail.body.processorReference).toMatch(/^sim_/);
  const record = await findPayment(shop.stack.db, paymentKey('test', shop.merchant.merchantId, body.Tid!));
  expect(record?.processorReference).toBe(detail.body.processorReference);
  expect(detail.body.webhooks[0]).toMatchObject({
    event: 'PAYMENT_CAPTURED',
    attempts: [{ attempt: 1, httpStatus: 200 }],
  });

  // Resend: one more attempt, same delivery id.
  const deliveryId = detail.body.webhooks[0]!.deliveryId;
  const before = receiver.received.length;
  const resent = await admin.call('POST', `${path}/webhooks/${deliveryId}/resend`);
  expect(resent.body).toMatchObject({ attempt: { attempt: 2, httpStatus: 200, durationMs: expect.any(Number) } });
  expect(receiver.received.slice(before).map((r) => r.headers['x-settleflow-delivery'])).toEqual([deliveryId]);

  const refunded = await admin.call<{ refund: { reference: string; status: string; message: string; date: string } }>(
    'POST',
    `${path}/refund`,
    {},
  );
  expect(refunded.status).toBe(200);
  expect(refunded.body.refund).toMatchObject({ reference: expect.stringMatching(/^ref_/), status: 'captured' });
  const status = await post(shop.stack.apiUrl, 'status', apiKey, { Tid: body.Tid! });
  expect(status.body.Result).toMatchObject({
    OperationType: 'refund',
    Status: 'captured',
    Reference: refunded.body.refund.reference,
  });
  // The same refusal as the E-PRO API's, with its code.
  const again = await admin.call('POST', `${path}/refund`, {});
  expect(again.status).toBe(409);
  expect(again.body).toEqual({
    error: { code: 'refund_refused', eproCode: 103, message: 'Invalid transaction: payment already refunded' },
  });
  const page = await admin.call<Detail>('GET', path);
  expect(page.body).toMatchObject({ refundable: false, refund: { status: 'captured' } });
  expect(page.body.timeline.map((t) => t.event)).toEqual([
    'accepted',
    'authorized',
    'captured',
    'refund_requested',
    'refunded',
  ]);
  const listed = await admin.call<{ payments: { tid: string; refund?: unknown }[] }>(
    'GET',
    `/test/payments?q=${enc(body.Tid!)}`,
  );
  expect(listed.body.payments).toEqual([
    expect.objectContaining({ tid: body.Tid, refund: expect.objectContaining({ status: 'captured' }) }),
  ]);
});

it('a declined payment cannot be refunded (409, E-PRO 103); a pending 3-D Secure one shows in the timeline and the overview', async () => {
  const { body: declined } = await pay({ CardNumber: '4000000000000002' });
  const refused = await admin.call('POST', `/test/payments/${enc(declined.Tid!)}/refund`, {});
  expect(refused.status).toBe(409);
  expect(refused.body).toMatchObject({ error: { code: 'refund_refused', eproCode: 103 } });

  const { body, answer } = await pay({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  expect(answer.body.Result).toMatchObject({ Status: 'pending' });
  const detail = await admin.call<Detail>('GET', `/test/payments/${enc(body.Tid!)}`);
  expect(detail.body.timeline.map((t) => t.event)).toEqual(['accepted', '3ds_requested']);
  const overview = await admin.call<{
    pending3DS: number;
    approvalRate: number;
    declinesByReason: unknown[];
    currency: string;
  }>('GET', '/test/overview');
  expect(overview.body).toMatchObject({ currency: 'EUR', pending3DS: 1 });
  expect(overview.body.declinesByReason.length).toBeGreaterThan(0);
  expect(overview.body.approvalRate).toBeGreaterThan(0);
  expect(overview.body.approvalRate).toBeLessThan(1);
});

it('lists with filters and pages, exports CSV; bad queries are 400', async () => {
  await pay();
  await pay();
  const list = await admin.call<{ payments: { status: string }[]; next: string | null }>(
    'GET',
    '/test/payments?status=captured&limit=1',
  );
  expect(list.body.payments).toHaveLength(1);
  expect(list.body.payments[0]!.status).toBe('captured');
  expect(list.body.next).not.toBeNull();
  const second = await admin.call<{ payments: unknown[] }>(
    'GET',
    `/test/payments?status=captured&limit=1&cursor=${enc(list.body.next!)}`,
  );
  expect(second.body.payments).toHaveLength(1);
  expect(second.body.payments[0]).not.toEqual(list.body.payments[0]);
  const threeDS = await admin.call<{ payments: { threeDS: boolean }[] }>('GET', '/test/payments?threeDS=yes');
  expect(threeDS.body.payments.every((p) => p.threeDS)).toBe(true);

  const csv = await admin.call('GET', '/test/payments.csv?status=failed');
  expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
  expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="payments-test-/);
  const lines = csv.text.trim().split('\r\n');
  expect(lines[0]).toMatch(/^createdAt,tid,reference,uid,amount,/);
  expect(lines.slice(1).every((l) => l.includes('"failed"'))).toBe(true);

  for (const query of [
    'status=paid',
    'from=yesterday',
    'minAmount=-1',
    'maxAmount=1.5',
    'threeDS=maybe',
    'limit=0',
    'limit=101',
    'days=3&days=4',
  ]) {
    const res = await admin.call('GET', `/test/payments?${query}`);
    if (query.startsWith('days')) continue;
    expect([query, res.status, res.body]).toEqual([
      query,
      400,
      { error: { code: 'invalid_request', message: expect.any(String) } },
    ]);
  }
  expect((await admin.call('GET', '/test/overview?days=0')).status).toBe(400);
  expect((await admin.call('GET', '/test/overview?days=abc')).status).toBe(400);
});

it('rotates a key (shown once), pays with the new one, revokes; the list never shows a key or hash', async () => {
  const oldKeyId = parseApiKey(shop.merchant.testKey)!.keyId;
  const rotated = await admin.call<{ key: string; keyId: string; oldKeysExpireAt: string }>('POST', '/test/keys', {
    graceHours: 1,
  });
  expect(rotated.status).toBe(200);
  expect(rotated.body.key).toMatch(/^sk_test_/);
  expect(parseApiKey(rotated.body.key)!.keyId).toBe(rotated.body.keyId);
  const paid = await post(shop.stack.apiUrl, 'payment', rotated.body.key, paymentBody());
  expect(paid.body).toMatchObject({ Code: 0, Result: { Status: 'captured' } });

  const developers = await admin.call<{ keys: { keyId: string; state: string }[]; webhookSecrets: unknown[] }>(
    'GET',
    '/test/developers',
  );
  expect(developers.body.keys).toEqual(
    expect.arrayContaining([
      expect.objectContaining({ keyId: rotated.body.keyId, state: 'current' }),
      expect.objectContaining({ keyId: oldKeyId, state: 'expiring' }),
    ]),
  );
  expect(developers.text).not.toContain(rotated.body.key);
  expect(developers.text).not.toContain('argon2');
  expect((await admin.call('POST', `/test/keys/${oldKeyId}/revoke`)).status).toBe(204);
  apiKey = rotated.body.key;
  const after = await admin.call<{ keys: { keyId: string; state: string }[] }>('GET', '/test/developers');
  expect(after.body.keys).toContainEqual(expect.objectContaining({ keyId: oldKeyId, state: 'revoked' }));
  expect((await admin.call('POST', '/test/keys', { graceHours: 'soon' })).status).toBe(400);
  expect((await admin.call('POST', '/test/keys', { graceHours: 100_000 })).status).toBe(400);
});

it('webhook test event: a signed TEST event to the URL, same target rules as the mode; secret rotation shown once', async () => {
  const before = receiver.received.length;
  const sent = await admin.call<{ httpStatus?: number; durationMs: number; error?: string }>(
    'POST',
    '/test/webhook-test',
    {
      url: callbackUrl,
    },
  );
  expect(sent.body).toMatchObject({ httpStatus: 200, durationMs: expect.any(Number) });
  const got = receiver.received.slice(before);
  expect(got).toHaveLength(1);
  expect(got[0]!.headers['x-settleflow-event']).toBe('TEST');
  expect(JSON.parse(got[0]!.rawBody)).toMatchObject({ Event: 'TEST', Mode: 'test' });
  expect(
    signatureMatches(got[0]!.headers['x-settleflow-signature'] as string, got[0]!.rawBody, shop.merchant.webhookSecret),
  ).toBe(true);

  // Live deliveries go to public https addresses only, whatever the sandbox may do.
  const live = await admin.call('POST', '/live/webhook-test', { url: callbackUrl });
  expect(live.status).toBe(200);
  expect(live.body).toMatchObject({ error: expect.stringMatching(/^refused/) });
  expect(receiver.received.length).toBe(before + 1);
  expect((await admin.call('POST', '/test/webhook-test', { url: 'file:///etc/passwd' })).status).toBe(400);

  const rotated = await admin.call<{ webhookSecret: string }>('POST', '/webhook-secret/rotate', { graceHours: 1 });
  expect(rotated.body.webhookSecret).toMatch(/^whsec_/);
  const developers = await admin.call('GET', '/test/developers');
  expect(developers.text).not.toContain(rotated.body.webhookSecret);
  expect(developers.body.webhookSecrets).toHaveLength(2);
});

it('a 3-D Secure payment answered by the cardholder: the timeline has the challenge, its answer, and the outcome', async () => {
  const { body, answer } = await pay({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  const url = answer.body.Result!['3DSecureUrl'] as string;
  const page = await (await fetch(url)).text();
  const token = /name="token" value="([0-9a-f]{64})"/.exec(page)![1]!;
  await fetch(url, { method: 'POST', body: new URLSearchParams({ token, result: 'approved' }), redirect: 'manual' });
  const detail = await eventually('the captured payment', async () => {
    const res = await admin.call<Detail>('GET', `/test/payments/${enc(body.Tid!)}`);
    return res.body.status === 'captured' ? res : undefined;
  });
  expect(detail.body.timeline.map((t) => t.event)).toEqual([
    'accepted',
    '3ds_requested',
    '3ds_answered',
    'authorized',
    'captured',
  ]);
  expect(detail.body.timeline.find((t) => t.event === '3ds_answered')).toMatchObject({ detail: 'approved' });
  const times = detail.body.timeline.map((t) => Date.parse(t.at));
  expect([...times].sort((x, y) => x - y)).toEqual(times);
});

it('odd input anywhere is a 4xx with the JSON error shape, never a 500', async () => {
  const odd: [string, string, unknown?][] = [
    ['GET', '/test/payments/%E0%A4%A'],
    ['GET', `/test/payments/${'x'.repeat(300)}`],
    ['GET', '/test/payments/4111111111111111'],
    ['GET', '/test/payments?status=captured&status=bogus'],
    ['GET', '/test/payments?q=a&q=b'],
    ['GET', '/test/payments?limit=1e2'],
    ['GET', '/test/payments?cursor=%00%01'],
    ['GET', `/test/payments?cursor=${'A'.repeat(3000)}`],
    // Well formed, but not a cursor this API gave.
    ['GET', `/test/payments?cursor=${Buffer.from('not ours').toString('base64url')}`],
    ['GET', `/test/payments?status=failed&cursor=${Buffer.from('{"after":"live:mer_x"}').toString('base64url')}`],
    ['GET', '/test/payments?from=2026-13-45'],
    ['GET', '/test/payments?minAmount=99999999999999999999'],
    ['GET', '/test/overview?days=-1'],
    ['POST', '/test/keys', []],
    ['POST', '/test/keys', 'a string'],
    ['POST', '/test/keys', { graceHours: -1 }],
    ['POST', '/test/webhook-test', { url: 42 }],
    ['POST', '/test/webhook-test', { url: `https://${'a'.repeat(3000)}.example` }],
    ['POST', '/test/webhook-test', { url: 'http://[::1' }],
    ['POST', '/password', { token: 'x', password: 'y' }],
    ['POST', '/password', { token: 'a'.repeat(60), password: 'a long enough password' }],
    ['POST', '/test/keys/%2F%2E%2E/revoke', {}],
    ['DELETE', '/test/payments'],
  ];
  for (const [method, path, body] of odd) {
    const res = await admin.call(method, path, body);
    expect([method, path, res.status >= 400 && res.status < 500, res.body]).toEqual([
      method,
      path,
      true,
      { error: { code: expect.any(String), message: expect.any(String) } },
    ]);
  }
  // A search for a card number answers nothing, without looking it up.
  const search = await admin.call<{ payments: unknown[] }>('GET', '/test/payments?q=4111111111111111');
  expect(search.body.payments).toEqual([]);
});

it('test events are limited per merchant: a signed-in account cannot make the gateway a request generator', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < TEST_EVENTS_PER_MINUTE + 1; i++)
    statuses.push((await admin.call('POST', '/test/webhook-test', { url: callbackUrl })).status);
  expect(statuses).toContain(429);
  const refused = await admin.call('POST', '/test/webhook-test', { url: callbackUrl });
  expect(refused).toMatchObject({ status: 429, body: { error: { code: 'too_many_attempts' } } });
});
