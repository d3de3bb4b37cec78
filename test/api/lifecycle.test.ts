import type { CreatedMerchant } from '../../src/auth/accounts';
import { webhookAttempts } from '../../src/store/webhook-attempts';
import { simulatorCalls } from '../../activities/psp/simulator-calls';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { amountsMoved, moneyMoved } from '../support/money';
import { signatureMatches } from '../support/signature';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/** Payments end to end through the HTTP API, with a real local merchant endpoint that checks every signature. */
let stack: StackClients;
let merchant: CreatedMerchant;
const receiver = new WebhookReceiver();
let callbackUrl: string;

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
  callbackUrl = await receiver.start();
});
afterAll(async () => {
  await receiver.stop();
  await stack.close();
});

/** The simulator's ledger entries of one payment: its keys all start with the workflow id. */
const ofPayment = (workflowId: string) => ({
  idempotencyKey: { $regex: `^${workflowId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` },
});
const ledger = (workflowId: string, operation: string) =>
  stack.db.collection('simulator_ledger').countDocuments({ operation, ...ofPayment(workflowId) });
/** Money moved on the payment's authorization, under any idempotency key (test/support/money.ts). */
const moved = async (tid: string) => amountsMoved(await moneyMoved(stack.db, workflowIdOf(tid)));
const workflowIdOf = (tid: string) => `payment-test-${merchant.merchantId}-${tid}`;
const webhooksFor = (tid: string, count: number) =>
  eventually(`${count} webhook(s) for ${tid}`, () =>
    Promise.resolve(receiver.forTid(tid).length >= count ? receiver.forTid(tid) : undefined),
  );

it('captures, answers status by Tid and Reference, refunds once, and signs every webhook', async () => {
  const body = paymentBody({ CallbackUrl: callbackUrl });
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(paid.body).toMatchObject({
    Code: 0,
    Result: {
      OperationType: 'payment',
      Status: 'captured',
      Tid: body.Tid,
      Amount: 12.34,
      Currency: 'EUR',
      UserId: 'customer-42',
      Message: 'Payment was successful',
      '3DSecure': 'no',
    },
  });
  const result = paid.body.Result as { Reference: string; Date: string };
  expect(result.Reference).toMatch(/^pr_[0-9A-Za-z]{20,}$/);
  expect(result.Date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);

  for (const lookup of [
    { Tid: body.Tid! },
    { Reference: result.Reference },
    { Reference: result.Reference, Tid: 'ignored-when-reference-sent' },
  ] as Record<string, string>[]) {
    const status = await post(stack.apiUrl, 'status', merchant.testKey, lookup);
    expect(status.body).toMatchObject({
      Code: 0,
      Result: { OperationType: 'payment', Status: 'captured', Reference: result.Reference },
    });
  }

  const refund = await post(stack.apiUrl, 'refund', merchant.testKey, { Reference: result.Reference }, 'form');
  expect(refund.body).toMatchObject({
    Code: 0,
    Result: { OperationType: 'refund', Status: 'captured', Tid: body.Tid, Amount: 12.34, Message: 'Payment refunded' },
  });
  const refundReference = refund.body.Result!.Reference as string;
  expect(refundReference).toMatch(/^ref_[0-9A-Za-z]{20,}$/);
  for (const lookup of [{ Tid: body.Tid! }, { Reference: result.Reference }, { Reference: refundReference }] as Record<
    string,
    string
  >[]) {
    const status = await post(stack.apiUrl, 'status', merchant.testKey, lookup);
    expect(status.body.Result).toMatchObject({
      OperationType: 'refund',
      Status: 'captured',
      Reference: refundReference,
      Message: 'Payment refunded',
    });
  }

  const hooks = await webhooksFor(body.Tid!, 2);
  expect(hooks.map((h) => h.headers['x-settleflow-event'])).toEqual(['PAYMENT_CAPTURED', 'REFUND_SUCCEEDED']);
  for (const hook of hooks) {
    expect(signatureMatches(String(hook.headers['x-settleflow-signature']), hook.rawBody, merchant.webhookSecret)).toBe(
      true,
    );
    expect(signatureMatches(String(hook.headers['x-settleflow-signature']), hook.rawBody, 'whsec_wrong')).toBe(false);
    expect(hook.headers['x-settleflow-delivery']).toMatch(/^whd_/);
    expect(hook.headers['content-type']).toBe('application/json');
  }
  expect(JSON.parse(hooks[0]!.rawBody)).toEqual({
    Code: 0,
    Result: {
      OperationType: 'payment',
      Status: 'captured',
      Tid: body.Tid,
      Reference: result.Reference,
      Amount: 12.34,
      Currency: 'EUR',
      UserId: 'customer-42',
      Message: 'Payment was successful',
      Date: expect.any(String),
    },
  });
  expect(JSON.parse(hooks[1]!.rawBody).Result).toMatchObject({
    OperationType: 'refund',
    Reference: refundReference,
    Status: 'captured',
  });

  expect(await moved(body.Tid!)).toEqual({ captures: [1234], refunds: [1234] });
});

it('refuses a refund of part of the amount with 200 and moves nothing; one of the whole amount is refunded', async () => {
  const body = paymentBody({ Amount: '5000' });
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(paid.body.Result).toMatchObject({ Status: 'captured', Amount: 50 });
  const paymentReference = paid.body.Result!.Reference as string;

  for (const [amount, encoding] of [
    ['1000', 'json'],
    ['4999', 'form'],
    ['5001', 'multipart'],
    ['50.00', 'json'],
    ['0', 'json'],
  ] as const) {
    const refusal = await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: body.Tid!, Amount: amount }, encoding);
    expect(refusal.body).toEqual({
      Code: 200,
      Error: 'Invalid parameter Amount: V1 refunds are full refunds only (captured: 5000)',
    });
  }
  expect(await moved(body.Tid!)).toEqual({ captures: [5000], refunds: [] });
  const status = await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! });
  expect(status.body.Result).toMatchObject({
    OperationType: 'payment',
    Status: 'captured',
    Reference: paymentReference,
  });

  const refund = await post(stack.apiUrl, 'refund', merchant.testKey, { Reference: paymentReference, Amount: '5000' });
  expect(refund.body).toMatchObject({ Code: 0, Result: { OperationType: 'refund', Status: 'captured', Amount: 50 } });
  expect(await moved(body.Tid!)).toEqual({ captures: [5000], refunds: [5000] });
});

it.each([
  ['4000000000000002', 'Card declined'],
  ['4000000000009995', 'Insufficient funds'],
  ['4000000000000069', 'Expired card'],
])('declines %s with "%s", tells the merchant, and moves no money', async (card, message) => {
  const body = paymentBody({ CardNumber: card, CallbackUrl: callbackUrl });
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(paid.body.Result).toMatchObject({ Status: 'failed', Message: message });
  const [hook] = await webhooksFor(body.Tid!, 1);
  expect(hook!.headers['x-settleflow-event']).toBe('PAYMENT_FAILED');
  expect(await moved(body.Tid!)).toEqual({ captures: [], refunds: [] });
  expect((await post(stack.apiUrl, 'status', merchant.testKey, { Tid: body.Tid! })).body.Result).toMatchObject({
    Status: 'failed',
    Message: message,
  });
});

it('voids the authorization when the processor declines the capture (4000000000000267), and says so in the answer, status and webhook', async () => {
  const body = paymentBody({ CardNumber: '4000000000000267', CallbackUrl: callbackUrl });
  const message = 'Capture failed (Capture declined by the issuer); the authorization was voided';
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(paid.body).toMatchObject({
    Code: 0,
    Result: { OperationType: 'payment', Status: 'failed', Tid: body.Tid, Amount: 12.34, Message: message },
  });
  const reference = paid.body.Result!.Reference as string;

  // The processor saw the authorization and its void, under the workflow's keys, and no capture.
  const workflowId = workflowIdOf(body.Tid!);
  const moves = await stack.db
    .collection<{ operation: string; idempotencyKey: string; amount: number; outcome: { kind: string } }>(
      'simulator_ledger',
    )
    .find(ofPayment(workflowId))
    .toArray();
  expect(moves.map((m) => [m.operation, m.idempotencyKey, m.amount, m.outcome.kind]).sort()).toEqual([
    ['authorize', workflowId, 1234, 'approved'],
    ['void', `${workflowId}:void`, 1234, 'voided'],
  ]);

  for (const lookup of [{ Tid: body.Tid! }, { Reference: reference }] as Record<string, string>[]) {
    expect((await post(stack.apiUrl, 'status', merchant.testKey, lookup)).body).toMatchObject({
      Code: 0,
      Result: { OperationType: 'payment', Status: 'failed', Reference: reference, Message: message },
    });
  }
  const [hook] = await webhooksFor(body.Tid!, 1);
  expect(hook!.headers['x-settleflow-event']).toBe('PAYMENT_FAILED');
  expect(signatureMatches(String(hook!.headers['x-settleflow-signature']), hook!.rawBody, merchant.webhookSecret)).toBe(
    true,
  );
  expect(JSON.parse(hook!.rawBody)).toMatchObject({
    Code: 0,
    Result: { OperationType: 'payment', Status: 'failed', Tid: body.Tid, Reference: reference, Message: message },
  });
  expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: body.Tid! })).body).toMatchObject({ Code: 103 });
  expect(await moved(body.Tid!)).toEqual({ captures: [], refunds: [] });
  expect(await ledger(workflowId, 'void')).toBe(1);
});

it('hides two transient processor failures behind retries: captured once', async () => {
  const body = paymentBody({ CardNumber: '4000000000000119' });
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(paid.body.Result).toMatchObject({ Status: 'captured' });
  expect(await moved(body.Tid!)).toEqual({ captures: [1234], refunds: [] });
  // The attempts log keeps the two faults the ledger never sees.
  const calls = await simulatorCalls(stack.db)
    .find({ idempotencyKey: workflowIdOf(body.Tid!), operation: 'authorize' })
    .sort({ receivedAt: 1 })
    .toArray();
  expect(calls.map((c) => c.outcome.kind)).toEqual(['unavailable', 'unavailable', 'approved']);
});

it('keeps retrying a failing merchant endpoint with one delivery id until it answers 2xx, recording every attempt', async () => {
  const failing = new WebhookReceiver();
  failing.respond = (_request, index) => (index < 2 ? 500 : 200);
  const url = await failing.start();
  try {
    const body = paymentBody({ CallbackUrl: url });
    const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
    expect(paid.body.Result).toMatchObject({ Status: 'captured' });
    const hooks = await eventually('three attempts', () =>
      Promise.resolve(failing.received.length >= 3 ? failing.received : undefined),
    );
    expect(new Set(hooks.map((h) => h.headers['x-settleflow-delivery'])).size).toBe(1);
    for (const hook of hooks)
      expect(
        signatureMatches(String(hook.headers['x-settleflow-signature']), hook.rawBody, merchant.webhookSecret),
      ).toBe(true);
    const deliveryId = String(hooks[0]!.headers['x-settleflow-delivery']);
    const log = await eventually('three recorded attempts', async () => {
      const docs = await webhookAttempts(stack.db).find({ deliveryId }).sort({ attempt: 1 }).toArray();
      return docs.length >= 3 ? docs : undefined;
    });
    expect(log.map((d) => [d.attempt, d.httpStatus, d.delivered])).toEqual([
      [1, 500, false],
      [2, 500, false],
      [3, 200, true],
    ]);
  } finally {
    await failing.stop();
  }
});

it('answers pending with a 3-D Secure URL when the merchant asks for 3DS', async () => {
  const body = paymentBody({ '3DS': 'YES', ReturnUrl: 'https://shop.example/return' });
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  const result = paid.body.Result as { Reference: string };
  expect(paid.body.Result).toMatchObject({
    Status: 'pending',
    '3DSecure': 'yes',
    '3DSecureUrl': `${stack.apiUrl}/v1/3ds/${result.Reference}`,
  });
  expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: body.Tid! })).body).toEqual({
    Code: 103,
    Error: 'Invalid transaction: payment is not captured',
  });
});
