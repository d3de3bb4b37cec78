import { EproError } from '../../src/epro/errors';
import { checkRefundAmount } from '../../src/epro/refund-request';

/** A refund's optional Amount (docs/fields.md): V1 refunds only in full, so anything but the whole amount is 200. */
const CAPTURED = 5000;
const PARTIAL = { code: 200, message: 'Invalid parameter Amount: V1 refunds are full refunds only (captured: 5000)' };

function outcome(body: Record<string, unknown>): { code: number; message?: string } {
  try {
    checkRefundAmount(body, CAPTURED);
    return { code: 0 };
  } catch (err) {
    if (err instanceof EproError) return { code: err.code, message: err.message };
    throw err;
  }
}

describe('refund Amount', () => {
  it.each([
    ['absent', {}],
    ['empty', { Amount: '' }],
    ['the whole amount', { Amount: '5000' }],
    ['the whole amount as a JSON number', { Amount: 5000 }],
    ['the whole amount, any casing and padded', { amount: ' 5000 ' }],
  ])('%s is accepted', (_label, body) => {
    expect(outcome({ Tid: 'order-1', ...body })).toEqual({ code: 0 });
  });

  it.each([
    ['a part of the amount', '1000'],
    ['more than the amount', '5001'],
    ['zero', '0'],
    ['negative', '-5000'],
    ['in major units', '50.00'],
    ['not a number', 'all'],
    ['an object', { $gt: 0 }],
  ])('%s is refused with 200, naming the captured amount', (_label, amount) => {
    expect(outcome({ Tid: 'order-1', Amount: amount })).toEqual(PARTIAL);
  });
});
