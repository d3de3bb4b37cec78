import { type PaymentToStart, startPayment, type StartPaymentPorts } from '../../src/commands/start-payment';
import { EproError } from '../../src/epro/errors';
import type { StartResult } from '../../src/temporal/payment-workflows';
import type { Decision, PaymentInput, PaymentMemo } from '../../workflows/vocabulary';

/**
 * Every path of the payment start, with plain objects for the store, the vault and Temporal: what the merchant
 * is told, and what is left behind (a card in the vault, a workflow).
 */
const DECISION: Decision = { status: 'captured', message: 'Payment was successful', date: '2026-11-30T10:00:00.000Z' };

function payment(): PaymentToStart {
  return {
    workflowId: 'payment-test-mer_1-order-1',
    requestId: 'req-order-1',
    card: { number: '4111111111111111', month: 12, year: 2040, cvv: '123' },
    input: {
      paymentKey: 'test:mer_1:order-1',
      mode: 'test',
      merchantId: 'mer_1',
      tid: 'order-1',
      reference: 'pr_x',
      uid: 'u',
      amount: 1234,
      currency: 'EUR',
      maskedPan: '411111******1111',
      brand: 'visa',
      connector: 'simulator',
      threeDSRequested: false,
      threeDSUrl: 'http://127.0.0.1:3000/v1/3ds/pr_x',
      threeDSTimeoutMs: 60_000,
      refundWindowMs: 60_000,
      webhook: { attemptTimeoutMs: 1000, initialBackoffMs: 1000, retryForMs: 60_000 },
    },
  };
}

/** A world of plain objects: which cards are vaulted, which workflows started, with scripted answers. */
function world(script: {
  recordExists?: boolean | Error;
  start?: () => Promise<StartResult>;
  exists?: boolean | Error;
  vaultDown?: boolean;
}) {
  const vault = new Set<string>();
  const started: PaymentInput[] = [];
  const memos: PaymentMemo[] = [];
  let next = 0;
  const ports: StartPaymentPorts = {
    recordExists: () =>
      script.recordExists instanceof Error
        ? Promise.reject(script.recordExists)
        : Promise.resolve(script.recordExists ?? false),
    vaultCard: (_key, card, ttlMs) => {
      if (script.vaultDown) return Promise.reject(new Error('store down'));
      expect(card.cvv).toBe('123');
      expect(ttlMs).toBeGreaterThan(60_000);
      const token = `vt_${++next}`;
      vault.add(token);
      return Promise.resolve(token);
    },
    deleteCard: (token) => {
      vault.delete(token);
      return Promise.resolve();
    },
    startWorkflow: (input, memo) => {
      started.push(input);
      memos.push(memo);
      return script.start ? script.start() : Promise.resolve({ kind: 'decided', decision: DECISION });
    },
    workflowExists: () =>
      script.exists instanceof Error ? Promise.reject(script.exists) : Promise.resolve(script.exists ?? false),
  };
  return { ports, vault, started, memos };
}

async function codeOf(promise: Promise<unknown>): Promise<number | string> {
  try {
    await promise;
    return 'no error';
  } catch (err) {
    return err instanceof EproError ? err.code : (err as Error).message;
  }
}

it('accepted: the card is vaulted, the workflow gets its token, the decision is the answer', async () => {
  const w = world({});
  expect(await startPayment(w.ports, payment())).toEqual({ kind: 'decided', decision: DECISION });
  expect(w.started).toHaveLength(1);
  expect(w.vault.has(w.started[0]!.vaultToken)).toBe(true);
  expect(JSON.stringify(w.started[0])).not.toContain('4111111111111111');
  // The request id goes on the workflow's memo, for ops and for every activity log line of the payment.
  expect(w.memos).toEqual([{ requestId: 'req-order-1' }]);
});

it('accepted, no decision within the budget: pending, and the card stays for the workflow', async () => {
  const w = world({ start: () => Promise.resolve({ kind: 'pending' }) });
  expect(await startPayment(w.ports, payment())).toEqual({ kind: 'pending' });
  expect(w.vault.size).toBe(1);
});

it('duplicate while the first runs (or after it closed): 104, and the duplicate leaves no card behind', async () => {
  const w = world({ start: () => Promise.resolve({ kind: 'already_started' }) });
  expect(await codeOf(startPayment(w.ports, payment()))).toBe(104);
  expect(w.vault.size).toBe(0);
});

it('duplicate of a payment Temporal has forgotten: its record answers 104 before anything is written', async () => {
  const w = world({ recordExists: true });
  expect(await codeOf(startPayment(w.ports, payment()))).toBe(104);
  expect(w.started).toHaveLength(0);
  expect(w.vault.size).toBe(0);
});

it('Temporal down: the start fails and nobody can tell whether it landed: 9, and the card is gone', async () => {
  const w = world({ start: () => Promise.reject(new Error('14 UNAVAILABLE')), exists: new Error('14 UNAVAILABLE') });
  expect(await codeOf(startPayment(w.ports, payment()))).toBe('14 UNAVAILABLE');
  expect(w.vault.size).toBe(0);
});

it('the start failed and Temporal confirms no such workflow: 9, nothing left', async () => {
  const w = world({ start: () => Promise.reject(new Error('deadline exceeded')), exists: false });
  expect(await codeOf(startPayment(w.ports, payment()))).toBe('deadline exceeded');
  expect(w.vault.size).toBe(0);
});

it('answer lost: the start landed but its answer did not come back: 104, and the card stays for the workflow', async () => {
  const w = world({ start: () => Promise.reject(new Error('connection reset')), exists: true });
  expect(await codeOf(startPayment(w.ports, payment()))).toBe(104);
  expect(w.vault.size).toBe(1);
});

it('store down before the start: the error goes up (9), no card vaulted, no workflow started', async () => {
  const down = world({ recordExists: new Error('store down') });
  expect(await codeOf(startPayment(down.ports, payment()))).toBe('store down');
  expect(down.started).toHaveLength(0);
  const vaultDown = world({ vaultDown: true });
  expect(await codeOf(startPayment(vaultDown.ports, payment()))).toBe('store down');
  expect(vaultDown.started).toHaveLength(0);
});
