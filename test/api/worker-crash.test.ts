import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config';
import type { ManagedProcess } from '../../tools/process';
import { startApiProcess, startWorkerProcess } from '../../tools/stack';
import { simulatorCalls } from '../../activities/psp/simulator-calls';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { amountsMoved, moneyMoved } from '../support/money';
import { signatureMatches } from '../support/signature';
import { freePort } from '../../tools/ports';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * Durability: SIGKILL the worker while a payment sits between authorization and capture, start a new worker,
 * and the payment still ends captured exactly once, with its webhook delivered. This suite runs its own API and
 * worker on a task queue of their own, so killing them disturbs no other test.
 */
let stack: StackClients;
const receiver = new WebhookReceiver();
const processes: ManagedProcess[] = [];

beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await receiver.stop();
  await stack.close();
});

it('a worker killed between authorize and capture: a new worker captures exactly once and the webhook arrives', async () => {
  const config = loadConfig({
    ...process.env,
    PORT: String(await freePort()),
    TEMPORAL_TASK_QUEUE: `crash-test-${randomUUID()}`,
  });
  const apiUrl = `http://${config.host}:${config.port}`;
  // Slow processor calls give the test a window between authorization and capture to kill the worker in.
  const slowWorker = await startWorkerProcess(config, { SIMULATOR_LATENCY: '1500' }, 'worker-crash-test');
  processes.push(slowWorker, await startApiProcess(config, {}, 'api-crash-test'));

  const merchant = await newMerchant(stack);
  const callbackUrl = await receiver.start();
  const body = paymentBody({ CallbackUrl: callbackUrl });
  const answer = post(apiUrl, 'payment', merchant.testKey, body);
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  await eventually('the payment to be authorized', async () => {
    const doc = await stack.db.collection('payments').findOne({ _id: key as never });
    return doc?.status === 'authorized' ? doc : undefined;
  });
  slowWorker.child.kill('SIGKILL');
  await slowWorker.exited;

  processes.push(await startWorkerProcess(config, {}, 'worker-crash-test'));
  const first = await answer;
  expect(first.body.Code).toBe(0);
  expect(['pending', 'captured']).toContain(first.body.Result!.Status);

  const workflowId = `payment-test-${merchant.merchantId}-${body.Tid}`;
  await eventually(
    'the payment to be captured',
    async () => {
      const doc = await stack.db.collection('payments').findOne({ _id: key as never });
      return doc?.status === 'captured' ? doc : undefined;
    },
    60_000,
  );
  // Money moved on the payment's authorization under any key: one authorization, its amount captured once. The
  // capture may have been asked for twice (the killed worker's call and the new worker's retry): the attempts
  // log shows every call, all on that one authorization.
  const moved = await moneyMoved(stack.db, workflowId);
  expect(moved.authorizations).toHaveLength(1);
  expect(amountsMoved(moved)).toEqual({ captures: [1234], refunds: [] });
  const captureCalls = await simulatorCalls(stack.db)
    .find({ operation: 'capture', pspReference: moved.authorizations[0]! })
    .toArray();
  expect(captureCalls.length).toBeGreaterThanOrEqual(1);
  expect(new Set(captureCalls.map((c) => c.idempotencyKey))).toEqual(new Set([workflowId]));
  const [hook] = await eventually(
    'the webhook',
    () => Promise.resolve(receiver.forTid(body.Tid!).length ? receiver.forTid(body.Tid!) : undefined),
    60_000,
  );
  expect(hook!.headers['x-settleflow-event']).toBe('PAYMENT_CAPTURED');
  expect(signatureMatches(String(hook!.headers['x-settleflow-signature']), hook!.rawBody, merchant.webhookSecret)).toBe(
    true,
  );
  expect((await post(apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result).toMatchObject({
    Status: 'captured',
  });
}, 120_000);
