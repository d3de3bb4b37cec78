import { createHmac, hkdfSync } from 'node:crypto';
import path from 'node:path';
import { configToEnv, loadConfig } from '../../src/config';
import { validatePaymentRequest } from '../../src/epro/payment-request';
import { findMerchant } from '../../src/store/merchants';
import { findPayment, pendingStarts } from '../../src/store/payments';
import { settleStrandedReservations } from '../../src/temporal/reservation-sweep';
import { freePort } from '../../tools/ports';
import { type ManagedProcess, startProcess, waitUntilReady } from '../../tools/process';
import { newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * The request digest that lets an identical retry resume a stranded reservation (docs/error-codes.md, code 9).
 * Older versions computed it over the whole request, card number and CVV included, under the vault key, and kept
 * it for good: whoever held the key and the stored non-card fields recovered the CVV by trying its 1000 values.
 * Now it covers no card data, the retry's card is checked against the reservation's vaulted card, and the digest
 * is removed once the workflow started; what older versions left is removed by the worker's sweep.
 *
 * Reservations are stranded the way production strands them: an API whose Temporal is unreachable answers 9.
 */
let stack: StackClients;
let broken: ManagedProcess;
let brokenUrl: string;

beforeAll(async () => {
  stack = await connectToStack();
  const config = loadConfig({ ...process.env, PORT: String(await freePort()), TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, API_WAIT_BUDGET: '2s' });
  brokenUrl = `http://${config.host}:${config.port}`;
  broken = startProcess('api-digest-no-temporal', process.execPath, [path.join(__dirname, '..', '..', 'dist', 'src', 'main.js')], {
    logDir: path.join(config.dataDir, 'logs'),
    env: { ...process.env, ...configToEnv(config) },
  });
  await waitUntilReady(broken, 'API without Temporal', async () => (await fetch(`${brokenUrl}/health`)).status === 200);
});
afterAll(async () => {
  await broken.stop();
  await stack.close();
});

const payments = () => stack.db.collection('payments');

async function strand(testKey: string, body: Record<string, string>, merchantId: string): Promise<{ key: string; digest: string }> {
  expect((await post(brokenUrl, 'payment', testKey, body)).body.Code).toBe(9);
  const key = `test:${merchantId}:${body.Tid}`;
  const doc = await findPayment(stack.db, key);
  expect(doc).toMatchObject({ lifecycle: 'reserved', requestDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
  return { key, digest: doc!.requestDigest! };
}

/** Frees a stranded reservation by hand, so the same Tid can be stranded again with another card. */
async function forget(key: string): Promise<void> {
  const doc = await findPayment(stack.db, key);
  await payments().deleteOne({ _id: key as never });
  await pendingStarts(stack.db).deleteOne({ _id: key });
  await stack.db.collection('references').deleteOne({ _id: doc!.reference as never });
  await stack.db.collection('vault').deleteMany({ paymentKey: key });
}

it('does not depend on the card: the same order with another card number, CVV and expiry gets the same digest', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody({ CardNumber: '4111111111111111', CardCVV: '123', CardMonth: '12' });
  const first = await strand(merchant.testKey, body, merchant.merchantId);
  await forget(first.key);
  const second = await strand(merchant.testKey, { ...body, CardNumber: '5555555555554444', CardCVV: '987', CardMonth: '11' }, merchant.merchantId);
  expect(second.digest).toBe(first.digest);
  await forget(second.key);
});

it('cannot be matched by trying all 1000 CVVs with the real vault key, raw or derived for any job', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody({ CardCVV: '123' });
  const { digest } = await strand(merchant.testKey, body, merchant.merchantId);

  // The attacker of the review: the master key, the code, and every stored non-card field of the order.
  const master = Buffer.from(process.env.VAULT_KEY!, 'base64');
  const salt = Buffer.from('settleflow vault key ring', 'utf8');
  const derived = ['card-vault', 'webhook-secrets', 'request-digest', '3ds-token'].map((purpose) =>
    Buffer.from(hkdfSync('sha256', master, salt, Buffer.from(`settleflow/${purpose}`, 'utf8'), 32)));
  const account = { ...(await findMerchant(stack.db, merchant.merchantId))!, mode: 'test' as const };
  const found: string[] = [];
  for (let n = 0; n < 1000; n++) {
    const cvv = String(n).padStart(3, '0');
    const request = await validatePaymentRequest({ ...body, CardCVV: cvv }, { account, now: new Date() });
    const messages = [`payment-request:${JSON.stringify(request)}`, JSON.stringify(request)];
    for (const key of [master, ...derived]) {
      for (const message of messages) {
        if (createHmac('sha256', key).update(message, 'utf8').digest('hex') === digest) found.push(cvv);
      }
    }
  }
  expect(found).toEqual([]);
});

it('lets an identical retry resume only with the same card, and is gone once the payment started', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  const { key } = await strand(merchant.testKey, body, merchant.merchantId);

  // Same order, another CVV: not the same request, whatever the digest says.
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, { ...body, CardCVV: '124' })).body).toEqual({ Code: 104, Error: 'Tid already used' });
  expect(await findPayment(stack.db, key)).toMatchObject({ lifecycle: 'reserved', requestDigest: expect.any(String) });

  const resumed = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(resumed.body).toMatchObject({ Code: 0, Result: { Status: 'captured', Tid: body.Tid } });
  const started = await findPayment(stack.db, key);
  expect(started).toMatchObject({ lifecycle: 'started' });
  expect(started).not.toHaveProperty('requestDigest');

  // And a payment whose start went through the first time keeps none either.
  const direct = paymentBody();
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, direct)).body.Code).toBe(0);
  expect(await findPayment(stack.db, `test:${merchant.merchantId}:${direct.Tid}`)).not.toHaveProperty('requestDigest');
});

it('the worker\'s sweep removes, once, the digests older versions left on started payments and orphaned reservations', async () => {
  const merchant = await newMerchant(stack);
  const paid = paymentBody();
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, paid)).body.Code).toBe(0);
  const startedKey = `test:${merchant.merchantId}:${paid.Tid}`;
  const legacyDigest = 'ab'.repeat(32);
  // What an older version left behind: a started payment still holding its digest ...
  await payments().updateOne({ _id: startedKey as never }, { $set: { requestDigest: legacyDigest } });
  // ... a reservation two days old that nothing settled, and one from a moment ago, which a retry may still resume.
  const orphanKey = `test:${merchant.merchantId}:orphan-${paid.Tid}`;
  const freshKey = `test:${merchant.merchantId}:fresh-${paid.Tid}`;
  await payments().insertMany([
    { _id: orphanKey as never, lifecycle: 'reserved', requestDigest: legacyDigest, createdAt: new Date(Date.now() - 2 * 86_400_000) },
    { _id: freshKey as never, lifecycle: 'reserved', requestDigest: legacyDigest, createdAt: new Date() },
  ]);

  // As the worker runs it (an hour's grace: this test's reservations are not the sweep's to settle).
  await settleStrandedReservations(stack.db, stack.temporal, 3_600_000);
  expect(await findPayment(stack.db, startedKey)).not.toHaveProperty('requestDigest');
  expect(await findPayment(stack.db, orphanKey)).not.toHaveProperty('requestDigest');
  expect(await findPayment(stack.db, freshKey)).toMatchObject({ requestDigest: legacyDigest });

  // Once per process: the scan is not repeated at every tick.
  await payments().updateOne({ _id: startedKey as never }, { $set: { requestDigest: legacyDigest } });
  await settleStrandedReservations(stack.db, stack.temporal, 3_600_000);
  expect(await findPayment(stack.db, startedKey)).toMatchObject({ requestDigest: legacyDigest });
  await payments().deleteMany({ _id: { $in: [orphanKey, freshKey] as never[] } });
  await payments().updateOne({ _id: startedKey as never }, { $unset: { requestDigest: '' } });
});
