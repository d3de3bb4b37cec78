import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { type PaymentDoc, payments } from '../../src/store/payment-records';
import { recordReference } from '../../src/store/references';
import { workflowExists } from '../../src/temporal/payment-workflows';
import { type Encoding, eventually, newMerchant, paymentBody, post, useStackWithMerchant } from '../support/factories';
import { paymentKey, paymentWorkflowId } from '../../workflows/vocabulary';

/**
 * Card numbers where identifiers and free text belong (docs/fields.md): refused with the field's code through the
 * real API, and nothing of them reaches Temporal, the database or the logs. The card numbers here are used by no
 * other test, so finding one anywhere is this test's finding.
 */
const shop = useStackWithMerchant();

const logDir = () => path.join(shop.stack.config.dataDir, 'logs');
const readLogs = () =>
  readdirSync(logDir()).map((file) => ({ file, text: readFileSync(path.join(logDir(), file), 'utf8') }));

interface Case {
  field: string;
  value: string;
  code: number;
  encoding: Encoding;
}

const cases: Case[] = [
  { field: 'Tid', value: '4012888888881881', code: 202, encoding: 'json' },
  { field: 'Uid', value: '5105105105105100', code: 201, encoding: 'form' },
  { field: 'Description', value: 'gift for 3782 822463 10005', code: 204, encoding: 'multipart' },
  { field: 'CustomerId', value: 'cust-6011-1111-1111-1117', code: 205, encoding: 'json' },
  { field: 'Lastname', value: '4000 0566 5566 5556', code: 212, encoding: 'form' },
];

const digitsOf = (value: string) => value.replace(/[^0-9]/g, '').slice(-16);

it('refuses each free-text field holding a card number with its own code; starts, stores and logs nothing', async () => {
  const requestIds: string[] = [];
  const tids: string[] = [];
  for (const c of cases) {
    const body = paymentBody({ [c.field]: c.value });
    const requestId = `card-in-fields-${randomUUID()}`;
    const answer = await post(shop.stack.apiUrl, 'payment', shop.merchant.testKey, body, c.encoding, {
      'x-request-id': requestId,
    });
    expect(answer.body).toEqual({ Code: c.code, Error: `Invalid parameter ${c.field}: looks like a card number` });
    requestIds.push(requestId);
    tids.push(body.Tid!);
  }

  for (const tid of tids)
    expect(await workflowExists(shop.stack.temporal, paymentWorkflowId('test', shop.merchant.merchantId, tid))).toBe(
      false,
    );
  expect(await shop.stack.db.collection('payments').countDocuments({ merchantId: shop.merchant.merchantId })).toBe(0);
  expect(await shop.stack.db.collection('references').countDocuments({ merchantId: shop.merchant.merchantId })).toBe(0);

  // The API wrote its line for each request (the proof the right file is read), and no card number anywhere.
  await eventually('the request log lines', () => {
    const api = readFileSync(path.join(logDir(), 'api.log'), 'utf8');
    return Promise.resolve(requestIds.every((id) => api.includes(id)) ? true : undefined);
  });
  for (const { file, text } of readLogs()) {
    for (const c of cases) {
      expect({ file, found: text.includes(c.value) || text.includes(digitsOf(c.value)) }).toEqual({
        file,
        found: false,
      });
    }
  }
});

it('a Tid that looks like a card number is never looked up: refund and status answer 102, even for a payment recorded with it before the rule, and do not log it', async () => {
  // A payment accepted before card numbers were refused, written as the API wrote them then.
  const owner = await newMerchant(shop.stack);
  const tid = '4917610000000000';
  const now = new Date();
  const legacy: PaymentDoc = {
    _id: paymentKey('test', owner.merchantId, tid),
    mode: 'test',
    merchantId: owner.merchantId,
    tid,
    reference: `pr_${randomUUID().replaceAll('-', '')}`,
    uid: 'customer-42',
    amount: 1234,
    currency: 'EUR',
    maskedPan: '411111******1111',
    brand: 'visa',
    workflowId: paymentWorkflowId('test', owner.merchantId, tid),
    status: 'captured',
    message: 'Payment was successful',
    threeDS: false,
    seq: 3,
    createdAt: now,
    updatedAt: now,
  };
  await payments(shop.stack.db).insertOne(legacy);
  await recordReference(shop.stack.db, {
    _id: legacy.reference,
    kind: 'payment',
    paymentKey: legacy._id,
    merchantId: owner.merchantId,
    mode: 'test',
  });

  const requestIds: string[] = [];
  for (const endpoint of ['status', 'refund'] as const) {
    for (const spelling of [tid, '4917 6100 0000 0000']) {
      const requestId = `card-in-lookup-${randomUUID()}`;
      const answer = await post(shop.stack.apiUrl, endpoint, owner.testKey, { Tid: spelling }, 'json', {
        'x-request-id': requestId,
      });
      expect(answer.body).toEqual({ Code: 102, Error: 'Transaction not found' });
      requestIds.push(requestId);
    }
  }
  // Its Reference still finds it.
  expect((await post(shop.stack.apiUrl, 'status', owner.testKey, { Reference: legacy.reference })).body).toMatchObject({
    Code: 0,
    Result: { Status: 'captured' },
  });

  await eventually('the request log lines', () => {
    const api = readFileSync(path.join(logDir(), 'api.log'), 'utf8');
    return Promise.resolve(requestIds.every((id) => api.includes(id)) ? true : undefined);
  });
  for (const { file, text } of readLogs())
    expect({ file, found: text.includes(tid) || text.includes('4917 6100') }).toEqual({ file, found: false });
});

it('a card number sent as X-Request-Id, or in a request path, is neither echoed nor logged', async () => {
  const asRequestId = '6011000990139424';
  const answer = await post(shop.stack.apiUrl, 'status', shop.merchant.testKey, { Tid: 'no-such-order' }, 'json', {
    'x-request-id': asRequestId,
  });
  expect(answer.body.Code).toBe(102);
  expect(answer.requestId).not.toBe(asRequestId);
  expect(answer.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

  const marker = `card-in-path-${randomUUID()}`;
  const inPath = await fetch(`${shop.stack.apiUrl}/v1/status/3530111333300000`, {
    method: 'POST',
    headers: { 'x-request-id': marker },
  });
  expect(inPath.status).toBe(404);

  await eventually('the request log lines', () => {
    const api = readFileSync(path.join(logDir(), 'api.log'), 'utf8');
    return Promise.resolve(api.includes(answer.requestId!) && api.includes(marker) ? true : undefined);
  });
  for (const { file, text } of readLogs()) {
    expect({ file, found: text.includes(asRequestId) || text.includes('3530111333300000') }).toEqual({
      file,
      found: false,
    });
  }
});
