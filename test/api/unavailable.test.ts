import path from 'node:path';
import { configToEnv, loadConfig } from '../../src/config';
import { findPayment, insertPayment, payments } from '../../src/store/payment-records';
import { type ManagedProcess, startProcess, waitUntilReady } from '../../tools/process';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { freePort } from '../../tools/ports';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * Code 9 and what follows it: an API whose Temporal is unreachable answers 9 (never a 5xx, never a hang), keeps
 * nothing that could charge the card behind the merchant's back, and the merchant's retry with the same Tid goes
 * through. The start protocol itself (src/commands/start-payment.ts) is unit-tested path by path.
 */
let stack: StackClients;
let broken: ManagedProcess;
let brokenUrl: string;

beforeAll(async () => {
  stack = await connectToStack();
  const port = await freePort();
  const deadTemporal = `127.0.0.1:${await freePort()}`;
  const config = loadConfig({
    ...process.env,
    PORT: String(port),
    TEMPORAL_ADDRESS: deadTemporal,
    API_WAIT_BUDGET: '3s',
  });
  brokenUrl = `http://${config.host}:${config.port}`;
  broken = startProcess(
    'api-no-temporal',
    process.execPath,
    [path.join(__dirname, '..', '..', 'dist', 'src', 'main.js')],
    {
      logDir: path.join(config.dataDir, 'logs'),
      env: { ...process.env, ...configToEnv(config) },
    },
  );
  await waitUntilReady(broken, 'API without Temporal', async () => (await fetch(`${brokenUrl}/health`)).status === 200);
});
afterAll(async () => {
  await broken.stop();
  await stack.close();
});

it('says not ready, answers a payment with 9, and the same request retried on a healthy API is captured', async () => {
  expect((await fetch(`${brokenUrl}/ready`)).status).toBe(503);
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  const started = Date.now();
  const failed = await post(brokenUrl, 'payment', merchant.testKey, body);
  // Within the wait budget (3 s here), the start confirmation, and the 10 s the API keeps asking whether the start
  // landed before it gives the card up (src/http/routes/payment.ts), never the client's retries.
  expect(Date.now() - started).toBeLessThan(25_000);
  expect(failed).toMatchObject({
    status: 200,
    body: { Code: 9, Error: 'Service temporarily unavailable, retry with the same Tid' },
  });

  const retried = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(retried.body).toMatchObject({ Code: 0, Result: { Status: 'captured', Tid: body.Tid } });
  // The first attempt's card copy is gone; the payment's own copy goes when it ends.
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  await eventually('no card data left', async () =>
    (await stack.db.collection('vault').countDocuments({ paymentKey: key })) === 0 ? true : undefined,
  );
});

it('refund and status still answer from the database while Temporal is down; a refund says 9', async () => {
  const merchant = await newMerchant(stack);
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody());
  const tid = paid.body.Result!.Tid as string;
  expect((await post(brokenUrl, 'status', merchant.testKey, { Tid: tid })).body.Result).toMatchObject({
    Status: 'captured',
  });
  expect((await post(brokenUrl, 'refund', merchant.testKey, { Tid: tid })).body.Code).toBe(9);
  expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: tid })).body.Code).toBe(0);
});

it('a 9 leaves nothing behind: no record, no card, no Reference, and status answers 102', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  expect((await post(brokenUrl, 'payment', merchant.testKey, body)).body.Code).toBe(9);
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  expect(await findPayment(stack.db, key)).toBeNull();
  expect(await stack.db.collection('vault').countDocuments({ paymentKey: key })).toBe(0);
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Code).toBe(102);
});

it('a Tid whose record exists is used for good, even when Temporal no longer has its workflow (past retention)', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  const at = new Date(Date.now() - 400 * 24 * 3600_000);
  // A payment from long ago: its record is all that is left of it.
  await insertPayment(stack.db, {
    _id: key,
    mode: 'test',
    merchantId: merchant.merchantId,
    tid: body.Tid!,
    reference: 'pr_fromlongagofromlongago',
    uid: 'u',
    amount: 100,
    currency: 'EUR',
    maskedPan: '411111******1111',
    brand: 'visa',
    workflowId: `payment-test-${merchant.merchantId}-${body.Tid}`,
    status: 'captured',
    message: 'Payment was successful',
    threeDS: false,
    seq: 2,
    createdAt: at,
    updatedAt: at,
  });
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, body)).body).toEqual({
    Code: 104,
    Error: 'Tid already used',
  });
  expect(await workflowExistsFor(`payment-test-${merchant.merchantId}-${body.Tid}`)).toBe(false);
  expect(await stack.db.collection('vault').countDocuments({ paymentKey: key })).toBe(0);
  expect(await payments(stack.db).countDocuments({ _id: key })).toBe(1);
});

async function workflowExistsFor(workflowId: string): Promise<boolean> {
  const { workflowExists } = await import('../../src/temporal/payment-workflows');
  return workflowExists(stack.temporal, workflowId);
}

it('a namespace Temporal cannot find is not proof that a workflow does not exist (a Tid is never freed on it)', async () => {
  const { workflowExists } = await import('../../src/temporal/payment-workflows');
  const { Client } = await import('@temporalio/client');
  // The SDK reports the namespace's NOT_FOUND as WorkflowNotFoundError; a server still loading answers the same way.
  const lost = new Client({ connection: stack.temporal.connection, namespace: 'no-such-namespace' });
  await expect(workflowExists(lost, 'payment-test-x-y')).rejects.toThrow();
  expect(await workflowExists(stack.temporal, 'payment-test-nobody-nothing')).toBe(false);
});
