import { timelineOf } from '../../src/http/dashboard/payment-detail';
import type { PaymentDoc } from '../../src/store/payment-records';

/** The payment page's timeline once Temporal no longer has the workflow: the record's durable facts only. */
const base = {
  _id: 'test:mer_x:order-1',
  workflowId: 'payment-test-mer_x-order-1',
  mode: 'test',
  merchantId: 'mer_x',
  tid: 'order-1',
  reference: 'pr_x',
  uid: 'customer-42',
  amount: 1234,
  currency: 'EUR',
  maskedPan: '411111******1111',
  brand: 'visa',
  seq: 3,
  createdAt: new Date('2026-04-22T10:00:00Z'),
  updatedAt: new Date('2026-04-22T10:00:02Z'),
} as const;

it('a refunded payment: accepted, captured, refunded, in order, with the record times', () => {
  const payment = {
    ...base,
    status: 'captured',
    message: 'Payment was successful',
    threeDS: false,
    refund: {
      reference: 'ref_x',
      status: 'captured',
      message: 'Payment refunded',
      date: new Date('2026-04-23T09:00:00Z'),
    },
  } as unknown as PaymentDoc;
  expect(timelineOf(payment, undefined)).toEqual([
    { event: 'accepted', at: '2026-04-22T10:00:00.000Z' },
    { event: 'captured', at: '2026-04-22T10:00:02.000Z' },
    { event: 'refunded', at: '2026-04-23T09:00:00.000Z', detail: 'Payment refunded' },
  ]);
});

it('a declined payment carries its message; a pending 3-D Secure one shows the challenge', () => {
  const failed = { ...base, status: 'failed', message: 'Insufficient funds', threeDS: false } as unknown as PaymentDoc;
  expect(timelineOf(failed, undefined).at(-1)).toEqual({
    event: 'failed',
    at: '2026-04-22T10:00:02.000Z',
    detail: 'Insufficient funds',
  });
  const pending = {
    ...base,
    status: 'pending',
    message: '3DSecure authentication required',
    threeDS: true,
  } as unknown as PaymentDoc;
  expect(timelineOf(pending, undefined).map((e) => e.event)).toEqual(['accepted', '3ds_requested']);
});

it('with a history, its steps replace the record-only guesses', () => {
  const payment = {
    ...base,
    status: 'captured',
    message: 'Payment was successful',
    threeDS: true,
  } as unknown as PaymentDoc;
  const steps = [
    { event: '3ds_requested' as const, at: new Date('2026-04-22T10:00:00.500Z') },
    { event: '3ds_answered' as const, at: new Date('2026-04-22T10:00:01Z'), detail: 'approved' },
    { event: 'authorized' as const, at: new Date('2026-04-22T10:00:01.500Z') },
    { event: 'captured' as const, at: new Date('2026-04-22T10:00:02Z') },
  ];
  expect(timelineOf(payment, { steps }).map((e) => e.event)).toEqual([
    'accepted',
    '3ds_requested',
    '3ds_answered',
    'authorized',
    'captured',
  ]);
});
