import { randomUUID } from 'node:crypto';
import { createConnectors, type PspAdapter } from '../../activities/psp';
import { simulatorCalls } from '../../activities/psp/simulator-calls';
import { amountsMoved, moneyByPayment, moneyDisagreements, moneyMoved } from '../support/money';
import { simulatorLedger } from '../../activities/psp/simulator';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * The evidence the "captured exactly once" tests stand on, against the real store: the simulator answers a
 * repeated idempotency key from its ledger (one movement) but logs every call, and a movement under ANOTHER key
 * is a second movement that the money check attributes to the same payment through its authorization.
 * A broken build that captures twice under a second key is caught by the money check (test/support/money.ts),
 * which counting ledger entries by the payment's key never could.
 */
let stack: StackClients;
let simulator: PspAdapter;
beforeAll(async () => {
  stack = await connectToStack();
  simulator = createConnectors(stack.db).simulator!;
});
afterAll(() => stack.close());

async function authorized(amount: number): Promise<{ key: string; pspReference: string }> {
  const key = `payment-ledger-test-${randomUUID()}`;
  const outcome = await simulator.authorize({
    idempotencyKey: key,
    amount,
    currency: 'EUR',
    authenticated: false,
    card: { number: '4111111111111111', month: 12, year: new Date().getUTCFullYear() + 3, cvv: '123' },
  });
  if (outcome.kind !== 'approved') throw new Error(`authorization ${outcome.kind}`);
  return { key, pspReference: outcome.pspReference };
}

it('a repeated capture key is answered from the ledger (one movement) and both calls are in the attempts log', async () => {
  const { key, pspReference } = await authorized(1500);
  const first = await simulator.capture({ idempotencyKey: key, pspReference, amount: 1500, currency: 'EUR' });
  const again = await simulator.capture({ idempotencyKey: key, pspReference, amount: 1500, currency: 'EUR' });
  expect(again).toEqual(first);
  expect(amountsMoved(await moneyMoved(stack.db, key))).toEqual({ captures: [1500], refunds: [] });
  const calls = await simulatorCalls(stack.db).find({ idempotencyKey: key }).sort({ receivedAt: 1 }).toArray();
  expect(calls.map((c) => [c.operation, c.pspReference, c.amount, c.outcome.kind])).toEqual([
    ['authorize', pspReference, 1500, 'approved'],
    ['capture', pspReference, 1500, 'captured'],
    ['capture', pspReference, 1500, 'captured'],
  ]);
  expect(moneyDisagreements({ status: 'captured', amount: 1500 }, await moneyMoved(stack.db, key))).toEqual([]);
});

it('a capture and a refund issued again under other keys are two movements each, and the money check fails', async () => {
  const { key, pspReference } = await authorized(2000);
  await simulator.capture({ idempotencyKey: key, pspReference, amount: 2000, currency: 'EUR' });
  await simulator.capture({ idempotencyKey: `${key}:second`, pspReference, amount: 2000, currency: 'EUR' });
  await simulator.refund({ idempotencyKey: `${key}:refund:a`, pspReference, amount: 2000, currency: 'EUR' });
  await simulator.refund({ idempotencyKey: `${key}:refund:b`, pspReference, amount: 2000, currency: 'EUR' });
  const moved = await moneyMoved(stack.db, key);
  expect(amountsMoved(moved)).toEqual({ captures: [2000, 2000], refunds: [2000, 2000] });
  expect(moneyDisagreements({ status: 'captured', amount: 2000, refund: { status: 'captured' } }, moved)).toEqual([
    expect.stringContaining('2 capture(s) moved money'),
    expect.stringContaining('2 refund(s) moved money'),
  ]);
});

it('money moved on an authorization no payment made is reported as unlinked', async () => {
  const stray = `sim_stray_${randomUUID()}`;
  await simulator.capture({
    idempotencyKey: `payment-ledger-test-${randomUUID()}`,
    pspReference: stray,
    amount: 700,
    currency: 'EUR',
  });
  const { unlinked } = moneyByPayment(await simulatorLedger(stack.db).find({}).toArray());
  expect(unlinked.filter((entry) => entry.pspReference === stray).map((entry) => entry.amount)).toEqual([700]);
});
