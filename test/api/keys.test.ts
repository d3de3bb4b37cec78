import { eventually, paymentBody, post } from '../support/factories';
import { signatureMatches } from '../support/signature';
import { connectToStack, type StackClients } from '../support/stack-client';
import { paymentKey } from '../../workflows/vocabulary';
import { settleflowJson } from '../support/cli';

/**
 * The key lifecycle as an operator runs it, through the real `settleflow` command against the same database as
 * the API: create, use, rotate (the old key works through the grace period, then fails), revoke (fails within the
 * verified-key cache bound, KEY_CACHE_TTL = 2 s in tests).
 */
let stack: StackClients;

const works = async (key: string) => (await post(stack.apiUrl, 'status', key, { Tid: 'probe' })).body.Code === 102;

beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

it('merchant create --json prints exactly merchantId, testKey, liveKey and webhookSecret', async () => {
  const created = await settleflowJson(
    'merchant',
    'create',
    '--name',
    'CLI shop',
    '--max-amount',
    '5000',
    '--require',
    'birthdate',
    '--no-3ds',
  );
  expect(Object.keys(created).sort()).toEqual(['liveKey', 'merchantId', 'testKey', 'webhookSecret']);
  expect(created).toMatchObject({
    merchantId: expect.stringMatching(/^mer_/),
    testKey: expect.stringMatching(/^sk_test_/),
    liveKey: null,
    webhookSecret: expect.stringMatching(/^whsec_/),
  });
  const stored = await stack.db.collection('merchants').findOne({ _id: created.merchantId as never });
  expect(stored).toMatchObject({
    maxAmount: 5000,
    requiredFields: ['BirthDate'],
    threeDSAllowed: false,
    currency: 'EUR',
  });
  // Keys exist only as Argon2id hashes.
  const keys = await stack.db.collection('api_keys').find({ merchantId: created.merchantId }).toArray();
  expect(keys).toHaveLength(1);
  expect(keys[0]!.hash).toMatch(/^\$argon2id\$/);
  expect(JSON.stringify(keys)).not.toContain((created.testKey as string).slice(21));

  const live = await settleflowJson('merchant', 'create', '--name', 'Live shop', '--live');
  expect(live.liveKey).toMatch(/^sk_live_/);
});

it('rotation: the old key keeps working during the grace period, then fails with 3; the new key works', async () => {
  const created = await settleflowJson('merchant', 'create', '--name', 'Rotating shop');
  const oldKey = created.testKey as string;
  expect(await works(oldKey)).toBe(true);
  // A grace no loaded machine can outrun; its exact end is proved with a driven clock (key-clock.test.ts).
  const rotated = await settleflowJson(
    'key',
    'rotate',
    '--merchant',
    created.merchantId as string,
    '--mode',
    'test',
    '--grace',
    '1h',
  );
  const newKey = rotated.key as string;
  expect(await works(newKey)).toBe(true);
  expect(await works(oldKey)).toBe(true);
  // The grace period ends (its end moved to the past, as time would): the API refuses the old key from then on.
  await stack.db
    .collection('api_keys')
    .updateOne(
      { _id: oldKey.split('_')[2] as never, expiresAt: { $ne: null } },
      { $set: { expiresAt: new Date(Date.now() - 1000) } },
    );
  await eventually('the old key refused', async () =>
    (await post(stack.apiUrl, 'status', oldKey, { Tid: 'probe' })).body.Code === 3 ? true : undefined,
  );
  expect((await post(stack.apiUrl, 'status', oldKey, { Tid: 'probe' })).body).toEqual({
    Code: 3,
    Error: 'Invalid API key',
  });
  expect(await works(newKey)).toBe(true);
});

it('revocation takes effect: the revoked key is refused once the cache bound has passed', async () => {
  const created = await settleflowJson('merchant', 'create', '--name', 'Revoked shop');
  const key = created.testKey as string;
  expect(await works(key)).toBe(true);
  await settleflowJson('key', 'revoke', key);
  // The bound itself (KEY_CACHE_TTL) is proved with a driven clock (key-clock.test.ts); here, that it happens.
  await eventually('the revoked key refused', async () => ((await works(key)) ? undefined : true), 60_000);
  expect((await post(stack.apiUrl, 'status', key, { Tid: 'probe' })).body.Code).toBe(3);
});

it('a key of one mode never works as the other', async () => {
  const created = await settleflowJson(
    'merchant',
    'create',
    '--name',
    'Mode shop',
    '--live',
    '--live-connector',
    'simulator',
  );
  const forged = (created.testKey as string).replace('sk_test_', 'sk_live_');
  expect((await post(stack.apiUrl, 'status', forged, { Tid: 'x' })).body.Code).toBe(3);
  expect(await works(created.liveKey as string)).toBe(true);
});

it('a disabled merchant gets 7 on payment, refund and status, before its body is read, and nothing is refunded', async () => {
  const created = await settleflowJson('merchant', 'create', '--name', 'Disabled shop');
  const key = created.testKey as string;
  const body = paymentBody();
  const tid = body.Tid!;
  expect((await post(stack.apiUrl, 'payment', key, body)).body.Result).toMatchObject({ Status: 'captured' });

  await settleflowJson('merchant', 'disable', created.merchantId as string);
  // The API sees the change once its cached verification of the key (KEY_CACHE_TTL) has expired; until then
  // status keeps answering, which changes nothing.
  const refused = { Code: 7, Error: 'Invalid account configuration: merchant account is disabled' };
  await eventually(
    'status to answer 7',
    async () => ((await post(stack.apiUrl, 'status', key, { Tid: tid })).body.Code === 7 ? true : undefined),
    stack.config.keyCacheTtlMs + 10_000,
  );
  expect((await post(stack.apiUrl, 'refund', key, { Tid: tid })).body).toEqual(refused);
  expect((await post(stack.apiUrl, 'status', key, { Reference: 'pr_doesnotexist0000000000' })).body).toEqual(refused);
  expect((await post(stack.apiUrl, 'payment', key, paymentBody({ CardNumber: '4111111111111112' }))).body).toEqual(
    refused,
  );
  for (const endpoint of ['payment', 'refund', 'status']) {
    const unreadable = await fetch(`${stack.apiUrl}/v1/${endpoint}/direct`, {
      method: 'POST',
      headers: { 'epro-api-key': key, 'content-type': 'application/json' },
      body: '{"Tid":',
    });
    expect(await unreadable.json()).toEqual(refused);
  }

  const workflowId = `payment-test-${created.merchantId as string}-${tid}`;
  expect(
    await stack.db
      .collection('simulator_ledger')
      .countDocuments({ operation: 'refund', idempotencyKey: { $regex: `^${workflowId}` } }),
  ).toBe(0);
  const payment = await stack.db
    .collection('payments')
    .findOne({ _id: paymentKey('test', created.merchantId as string, tid) as never });
  expect(payment).toMatchObject({ status: 'captured' });
  expect(payment!.refund).toBeUndefined();
});

it('webhook-secret rotate: both secrets sign during the overlap', async () => {
  const created = await settleflowJson('merchant', 'create', '--name', 'Secret shop');
  const rotated = await settleflowJson(
    'webhook-secret',
    'rotate',
    '--merchant',
    created.merchantId as string,
    '--grace',
    '1h',
  );
  const { activeWebhookSecrets } = await import('../../src/auth/accounts');
  const merchant = await stack.db.collection('merchants').findOne({ _id: created.merchantId as never });
  const secrets = activeWebhookSecrets(stack.config.vaultKeys, merchant as never);
  expect(secrets).toEqual([rotated.webhookSecret, created.webhookSecret]);
  const { signatureHeader } = await import('../../src/webhooks/sign');
  const header = signatureHeader('{"Code":0}', secrets, Math.floor(Date.now() / 1000));
  expect(signatureMatches(header, '{"Code":0}', created.webhookSecret as string)).toBe(true);
  expect(signatureMatches(header, '{"Code":0}', rotated.webhookSecret as string)).toBe(true);
});
