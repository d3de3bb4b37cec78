import { RATE_LIMITS_COLLECTION } from '../../src/auth/rate-limit-store';
import { newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { settleflowJson } from '../support/cli';

/**
 * Throttling through the real API, measured by request counts: the per-key request limit an operator sets with
 * the admin command, and the lock-out of a key id after too many wrong secrets.
 */
let stack: StackClients;

beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

const keyIdOf = (key: string) => key.split('_')[2]!;
const TOO_MANY = { Code: 9, Error: 'Too many requests, retry later' };

it('a key over its account limit: exactly N of N+3 requests pass, the rest get 9 with Retry-After; other keys are not limited', async () => {
  const limit = 5;
  const limited = await newMerchant(stack);
  expect(await settleflowJson('merchant', 'rate-limit', limited.merchantId, String(limit))).toEqual({
    merchantId: limited.merchantId,
    rateLimitPerMinute: limit,
  });
  const other = await newMerchant(stack);

  // Card testing: payments whose card is refused by validation count like any other request.
  const send = async (key: string, i: number) => {
    const [endpoint, body] =
      i % 2 === 0 ? ['payment', paymentBody({ CardNumber: '4111111111111112' })] : ['status', { Tid: 'never-used' }];
    const res = await fetch(`${stack.apiUrl}/v1/${endpoint}/direct`, {
      method: 'POST',
      headers: { 'epro-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as { Code: number } };
  };
  const passed = (code: number) => code === 206 || code === 102;

  const answers = [];
  for (let i = 0; i < limit + 3; i++) answers.push(await send(limited.testKey, i));
  expect(answers.filter((a) => passed(a.body.Code))).toHaveLength(limit);
  const refused = answers.slice(limit);
  expect(refused.map((a) => a.body)).toEqual([TOO_MANY, TOO_MANY, TOO_MANY]);
  for (const answer of refused) {
    expect(answer.status).toBe(200);
    const retryAfter = Number(answer.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60).toBe(true);
  }
  // The count lives in MongoDB, where every API process shares it.
  const counter = await stack.db
    .collection(RATE_LIMITS_COLLECTION)
    .findOne({ _id: `requests:${keyIdOf(limited.testKey)}` as never });
  expect(counter?.points).toBe(limit);

  for (let i = 0; i < limit + 3; i++) expect(passed((await send(other.testKey, i)).body.Code)).toBe(true);
});

it('merchant create --rate-limit sets the account limit; rate-limit default returns it to RATE_LIMIT_PER_MINUTE', async () => {
  const created = await settleflowJson('merchant', 'create', '--name', 'Slow shop', '--rate-limit', '120');
  const stored = () => stack.db.collection('merchants').findOne({ _id: created.merchantId as never });
  expect(await stored()).toMatchObject({ rateLimitPerMinute: 120 });
  await settleflowJson('merchant', 'rate-limit', created.merchantId as string, 'default');
  expect((await stored())!.rateLimitPerMinute).toBeUndefined();
  await expect(settleflowJson('merchant', 'rate-limit', created.merchantId as string, '0')).rejects.toThrow();
});

it('after the key id failure budget, even the right secret is refused with 3 until the cool-down ends', async () => {
  const merchant = await newMerchant(stack);
  const budget = stack.config.throttle.failuresPerKey;
  const wrong = (n: number) => `${merchant.testKey.slice(0, -6)}${String(n).padStart(6, '0')}`;
  for (let i = 0; i < budget + 3; i++) {
    expect((await post(stack.apiUrl, 'status', wrong(i), { Tid: 'x' })).body).toEqual({
      Code: 3,
      Error: 'Invalid API key',
    });
  }
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: 'x' })).body).toEqual({
    Code: 3,
    Error: 'Invalid API key',
  });
  // Failures are recorded after an Argon2id run only: the attempts past the budget ran none.
  const counter = await stack.db
    .collection(RATE_LIMITS_COLLECTION)
    .findOne({ _id: `auth-failures-key:${keyIdOf(merchant.testKey)}` as never });
  expect(counter?.points).toBe(budget + 1);
});
