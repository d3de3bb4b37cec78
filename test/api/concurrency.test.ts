import { newMerchant, paymentBody, post } from '../support/factories';
import { amountsMoved, moneyMoved } from '../support/money';
import { connectToStack, type StackClients } from '../support/stack-client';

let stack: StackClients;
beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

it('N parallel payments with one Tid: exactly one is accepted, the others get 104, its amount captured once', async () => {
  const merchant = await newMerchant(stack);
  const body = paymentBody();
  const answers = await Promise.all(
    Array.from({ length: 12 }, () => post(stack.apiUrl, 'payment', merchant.testKey, body, 'form')),
  );
  const codes = answers.map((a) => a.body.Code).sort((a, b) => a - b);
  expect(codes).toEqual([0, ...Array<number>(11).fill(104)]);
  expect(answers.find((a) => a.body.Code === 0)!.body.Result).toMatchObject({ Status: 'captured' });
  const workflowId = `payment-test-${merchant.merchantId}-${body.Tid}`;
  expect(amountsMoved(await moneyMoved(stack.db, workflowId))).toEqual({ captures: [1234], refunds: [] });
});

it('parallel refunds of one payment: exactly one succeeds, the others get 103, its amount refunded once', async () => {
  const merchant = await newMerchant(stack);
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody());
  const tid = paid.body.Result!.Tid as string;
  const answers = await Promise.all(
    Array.from({ length: 8 }, () => post(stack.apiUrl, 'refund', merchant.testKey, { Tid: tid })),
  );
  const codes = answers.map((a) => a.body.Code).sort((a, b) => a - b);
  expect(codes).toEqual([0, ...Array<number>(7).fill(103)]);
  const workflowId = `payment-test-${merchant.merchantId}-${tid}`;
  expect(amountsMoved(await moneyMoved(stack.db, workflowId))).toEqual({ captures: [1234], refunds: [1234] });
});
