import { dropLegacyStartFields, findPayment, payments } from '../../src/store/payment-records';
import { newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * Earlier versions kept, on every payment record and for good, a keyed digest of the whole request, card number
 * and CVV included: whoever held the vault key and the record's other fields recovered the CVV by trying its 1000
 * values. The payment start no longer needs any digest (docs/architecture.md), and each worker removes what the
 * earlier versions left (docs/runbook.md).
 */
let stack: StackClients;
beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

/** What a payment's record may hold: the payment's facts, never a value derived from the card beyond 6+4. */
const RECORD_FIELDS = [
  '_id',
  'mode',
  'merchantId',
  'tid',
  'reference',
  'uid',
  'amount',
  'currency',
  'maskedPan',
  'brand',
  'workflowId',
  'connector',
  'vaultToken',
  'status',
  'message',
  'threeDS',
  'threeDSUrl',
  'processorReference',
  'returnUrl',
  'callbackUrl',
  'customer',
  'refund',
  'webhookDeliveries',
  'seq',
  'seqHistoryLength',
  'createdAt',
  'updatedAt',
];

it('a payment record holds no digest of the request: only the payment facts', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  expect((await post(stack.apiUrl, 'payment', merchant.testKey, body)).body.Result).toMatchObject({
    Status: 'captured',
  });
  const record = (await findPayment(stack.db, `test:${merchant.merchantId}:${body.Tid}`))!;
  expect(Object.keys(record).filter((field) => !RECORD_FIELDS.includes(field))).toEqual([]);
});

it('the legacy cleanup removes the request digests and reservation fields earlier versions left, and nothing else', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  await post(stack.apiUrl, 'payment', merchant.testKey, body);
  const key = `test:${merchant.merchantId}:${body.Tid}`;
  await payments(stack.db).updateOne(
    { _id: key },
    { $set: { requestDigest: 'f'.repeat(64), lifecycle: 'started', input: { vaultToken: 'vt_old' } } as never },
  );
  const before = (await findPayment(stack.db, key))!;

  expect(await dropLegacyStartFields(stack.db)).toBeGreaterThanOrEqual(1);
  const after = (await findPayment(stack.db, key))!;
  expect(after).not.toHaveProperty('requestDigest');
  expect(after).not.toHaveProperty('input');
  expect(after).not.toHaveProperty('lifecycle');
  const facts = Object.fromEntries(
    Object.entries(before).filter(([field]) => !['requestDigest', 'input', 'lifecycle'].includes(field)),
  );
  expect(after).toEqual(facts);
});
