import path from 'node:path';
import { configToEnv, loadConfig } from '../../src/config';
import { findPayment, pendingStarts, resumeReservation } from '../../src/store/payments';
import { settleStrandedReservations } from '../../src/temporal/reservation-sweep';
import { type ManagedProcess, startProcess, waitUntilReady } from '../../tools/process';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { freePort } from '../../tools/ports';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * Code 9 and what follows it: an API whose Temporal is unreachable answers 9 (never a 5xx, never a hang), keeps
 * nothing that could charge the card behind the merchant's back, and the merchant's retry with the same Tid goes
 * through. Reservations nobody retries are settled by the sweep.
 */
let stack: StackClients;
let broken: ManagedProcess;
let brokenUrl: string;

beforeAll(async () => {
  stack = await connectToStack();
  const port = await freePort();
  const deadTemporal = `127.0.0.1:${await freePort()}`;
  const config = loadConfig({ ...process.env, PORT: String(port), TEMPORAL_ADDRESS: deadTemporal, API_WAIT_BUDGET: '3s' });
  brokenUrl = `http://${config.host}:${config.port}`;
  broken = startProcess('api-no-temporal', process.execPath, [path.join(__dirname, '..', '..', 'dist', 'src', 'main.js')], {
    logDir: path.join(config.dataDir, 'logs'),
    env: { ...process.env, ...configToEnv(config) },
  });
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
  // Within the wait budget (3 s here) plus the start confirmation and existence checks, never the client's retries.
  expect(Date.now() - started).toBeLessThan(15_000);
  expect(failed).toMatchObject({ status: 200, body: { Code: 9, Error: 'Service temporarily unavailable, retry with the same Tid' } });

  const retried = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(retried.body).toMatchObject({ Code: 0, Result: { Status: 'captured', Tid: body.Tid } });
  // The first attempt's card copy is gone; the payment's own copy goes when it ends.
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  await eventually('no card data left', async () => ((await stack.db.collection('vault').countDocuments({ paymentKey: key })) === 0 ? true : undefined));
  expect(await pendingStarts(stack.db).countDocuments({ _id: key })).toBe(0);
});

it('refund and status still answer from the database while Temporal is down; a refund says 9', async () => {
  const merchant = await newMerchant(stack);
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody());
  const tid = paid.body.Result!.Tid as string;
  expect((await post(brokenUrl, 'status', merchant.testKey, { Tid: tid })).body.Result).toMatchObject({ Status: 'captured' });
  expect((await post(brokenUrl, 'refund', merchant.testKey, { Tid: tid })).body.Code).toBe(9);
  expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: tid })).body.Code).toBe(0);
});

it('the sweep releases a stranded reservation whose workflow never started, and adopts one whose workflow did', async () => {
  const merchant = await newMerchant(stack);
  const stranded = paymentBody();
  expect((await post(brokenUrl, 'payment', merchant.testKey, stranded)).body.Code).toBe(9);
  const started = paymentBody();
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, started)).body.Code).toBe(0);
  // Simulate an API that died right after the start, before it could record it.
  const startedKey = `test:${merchant.merchantId}:${started.Tid}`;
  const doc = (await findPayment(stack.db, startedKey))!;
  await pendingStarts(stack.db).insertOne({ _id: startedKey, workflowId: doc.workflowId, vaultToken: doc.input.vaultToken, reference: doc.reference, attemptAt: new Date(0) });

  const result = await settleStrandedReservations(stack.db, stack.temporal, 0);
  expect(result.released).toBeGreaterThanOrEqual(1);
  expect(result.adopted).toBeGreaterThanOrEqual(1);
  const strandedKey = `test:${merchant.merchantId}:${stranded.Tid}`;
  expect(await findPayment(stack.db, strandedKey)).toBeNull();
  expect(await stack.db.collection('vault').countDocuments({ paymentKey: strandedKey })).toBe(0);
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: stranded.Tid! })).body.Code).toBe(102);
  // Released means free: the merchant can pay with that Tid now.
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, stranded)).body.Result).toMatchObject({ Status: 'captured' });
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: started.Tid! })).body.Result).toMatchObject({ Status: 'captured' });
});

it('a retry resuming a stranded reservation restarts the sweep\'s grace: its start in flight is never released', async () => {
  // Found by the chaos run: a merchant's late retry resumed a reservation the sweep already counted as stale; the
  // sweep released it while the retry's start went through, and the payment's record vanished.
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  expect((await post(brokenUrl, 'payment', merchant.testKey, body)).body.Code).toBe(9);
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  await pendingStarts(stack.db).updateOne({ _id: key }, { $set: { attemptAt: new Date(0) } });

  expect(await resumeReservation(stack.db, key, 'vt_retry_in_flight')).toBe(true);
  const result = await settleStrandedReservations(stack.db, stack.temporal, 60_000);
  expect(result.released).toBe(0);
  expect(await findPayment(stack.db, key)).toMatchObject({ lifecycle: 'reserved', input: { vaultToken: 'vt_retry_in_flight' } });
});

it('a namespace Temporal cannot find is not proof that a workflow does not exist (a Tid is never freed on it)', async () => {
  const { workflowExists } = await import('../../src/temporal/payments');
  const { Client } = await import('@temporalio/client');
  // The SDK reports the namespace's NOT_FOUND as WorkflowNotFoundError; a server still loading answers the same way.
  const lost = new Client({ connection: stack.temporal.connection, namespace: 'no-such-namespace' });
  await expect(workflowExists(lost, 'payment-test-x-y')).rejects.toThrow();
  expect(await workflowExists(stack.temporal, 'payment-test-nobody-nothing')).toBe(false);
});
