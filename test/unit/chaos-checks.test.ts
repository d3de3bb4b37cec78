import type { LedgerDoc } from '../../activities/psp/simulator';
import { challengeMissProblems, type FaultRecord, faultsOnIdle, wrongEvents } from '../chaos/checks';
import { type Fault, generator, planRun } from '../chaos/plan';
import { amountsMoved, moneyByPayment, moneyDisagreements } from '../support/money';

/**
 * The chaos run's checks fed broken records: each must report what a broken build would produce. The same checks
 * were shown to fail on the real stack with scratch builds (RELIABILITY.md, "What the invariants check").
 */

const entry = (
  operation: LedgerDoc['operation'],
  idempotencyKey: string,
  pspReference: string,
  amount: number,
  kind: string,
): LedgerDoc => ({
  _id: `${operation}:${idempotencyKey}`,
  operation,
  idempotencyKey,
  pspReference,
  amount,
  currency: 'EUR',
  outcome: (kind === 'approved' || kind === 'refunded'
    ? { kind, pspReference: 'x' }
    : { kind }) as LedgerDoc['outcome'],
  createdAt: new Date(0),
});

describe('money moved per payment', () => {
  const authorization = entry('authorize', 'payment-a', 'sim_a', 500, 'approved');

  it('links captures and refunds to the payment through its authorization, whatever key they used', () => {
    const { byPayment, unlinked } = moneyByPayment([
      authorization,
      entry('capture', 'payment-a', 'sim_a', 500, 'captured'),
      entry('capture', 'some-other-key', 'sim_a', 500, 'captured'),
      entry('refund', 'payment-a:refund:ref_1', 'sim_a', 500, 'refunded'),
      entry('capture', 'payment-b', 'sim_unknown', 900, 'captured'),
    ]);
    expect(amountsMoved(byPayment.get('payment-a')!)).toEqual({ captures: [500, 500], refunds: [500] });
    expect(unlinked.map((u) => u.idempotencyKey)).toEqual(['payment-b']);
  });

  it('a failed capture or a void moves nothing', () => {
    const { byPayment } = moneyByPayment([
      authorization,
      entry('capture', 'payment-a', 'sim_a', 500, 'failed'),
      entry('void', 'payment-a', 'sim_a', 500, 'voided'),
    ]);
    expect(amountsMoved(byPayment.get('payment-a')!)).toEqual({ captures: [], refunds: [] });
    expect(moneyDisagreements({ status: 'failed', amount: 500 }, byPayment.get('payment-a')!)).toEqual([]);
  });

  it.each([
    ['captured once', { status: 'captured', amount: 500 }, [['capture', 'payment-a', 500]], 0],
    [
      'captured and refunded once',
      { status: 'captured', amount: 500, refund: { status: 'captured' } },
      [
        ['capture', 'payment-a', 500],
        ['refund', 'payment-a:refund:r', 500],
      ],
      0,
    ],
    [
      'a second capture under another key',
      { status: 'captured', amount: 500 },
      [
        ['capture', 'payment-a', 500],
        ['capture', 'payment-a:again', 500],
      ],
      1,
    ],
    [
      'a second refund under another key',
      { status: 'captured', amount: 500, refund: { status: 'captured' } },
      [
        ['capture', 'payment-a', 500],
        ['refund', 'r1', 500],
        ['refund', 'r2', 500],
      ],
      1,
    ],
    ['a capture of the wrong amount', { status: 'captured', amount: 500 }, [['capture', 'payment-a', 50]], 1],
    ['no capture for a captured payment', { status: 'captured', amount: 500 }, [], 1],
    ['a capture for a failed payment', { status: 'failed', amount: 500 }, [['capture', 'payment-a', 500]], 1],
    ['a capture for a cancelled payment', { status: 'cancelled', amount: 500 }, [['capture', 'payment-a', 500]], 1],
    [
      'a refund the payment does not show',
      { status: 'captured', amount: 500 },
      [
        ['capture', 'payment-a', 500],
        ['refund', 'r1', 500],
      ],
      1,
    ],
    [
      'no refund for a refunded payment',
      { status: 'captured', amount: 500, refund: { status: 'captured' } },
      [['capture', 'payment-a', 500]],
      1,
    ],
  ] as const)('%s → %#', (_name, payment, moves, problems) => {
    const ledger = [
      authorization,
      ...moves.map(([operation, key, amount]) =>
        entry(operation, key, 'sim_a', amount, operation === 'capture' ? 'captured' : 'refunded'),
      ),
    ];
    expect(moneyDisagreements(payment, moneyByPayment(ledger).byPayment.get('payment-a')!)).toHaveLength(problems);
  });
});

describe('events received against the final state', () => {
  const payments = new Map([
    ['t-captured', { status: 'captured', reference: 'pr_1' }],
    ['t-refunded', { status: 'captured', reference: 'pr_2', refund: { status: 'captured', reference: 'ref_2' } }],
    ['t-failed', { status: 'failed', reference: 'pr_3' }],
  ]);
  const event = (name: string, tid: string, operation: string, status: string, reference: string) => ({
    event: name,
    deliveryId: `whd_${tid}_${name}`,
    result: { OperationType: operation, Status: status, Tid: tid, Reference: reference },
  });

  it('accepts the events each final state sends', () => {
    expect(
      wrongEvents(
        [
          event('PAYMENT_CAPTURED', 't-captured', 'payment', 'captured', 'pr_1'),
          event('PAYMENT_CAPTURED', 't-refunded', 'payment', 'captured', 'pr_2'),
          event('REFUND_SUCCEEDED', 't-refunded', 'refund', 'captured', 'ref_2'),
          event('PAYMENT_FAILED', 't-failed', 'payment', 'failed', 'pr_3'),
        ],
        payments,
      ),
    ).toEqual([]);
  });

  it.each([
    ['PAYMENT_FAILED for a captured payment', event('PAYMENT_FAILED', 't-captured', 'payment', 'failed', 'pr_1')],
    ['PAYMENT_CAPTURED for a failed payment', event('PAYMENT_CAPTURED', 't-failed', 'payment', 'captured', 'pr_3')],
    [
      'REFUND_SUCCEEDED for a payment never refunded',
      event('REFUND_SUCCEEDED', 't-captured', 'refund', 'captured', 'ref_x'),
    ],
    ['REFUND_FAILED for a refunded payment', event('REFUND_FAILED', 't-refunded', 'refund', 'failed', 'ref_2')],
    ['a body that says something else', event('PAYMENT_CAPTURED', 't-captured', 'payment', 'failed', 'pr_1')],
    ["another payment's Reference", event('PAYMENT_CAPTURED', 't-captured', 'payment', 'captured', 'pr_2')],
    ['a Tid nobody paid with', event('PAYMENT_CAPTURED', 't-nobody', 'payment', 'captured', 'pr_9')],
    ['an event name SettleFlow never sends', event('PAYMENT_AUTHORIZED', 't-captured', 'payment', 'captured', 'pr_1')],
  ])('flags %s', (_name, wrong) => {
    expect(wrongEvents([wrong], payments)).toHaveLength(1);
  });
});

describe('faults and load', () => {
  const fault = (inFlight: Record<string, number>, hitAt = 1000, endedAt = 5000): FaultRecord => ({
    fault: 'kill-worker',
    at: 10,
    hitAt,
    endedAt,
    inFlight,
  });

  it('a fault that hit requests in flight passes; one on an idle system, or one that never fired, fails the run', () => {
    expect(faultsOnIdle([fault({ payment: 2, status: 1 })], 1)).toEqual([]);
    expect(faultsOnIdle([fault({})], 1)).toEqual([expect.stringContaining('hit an idle system')]);
    expect(faultsOnIdle([fault({ payment: 1 })], 2)).toEqual([
      expect.stringContaining('2 faults scheduled but 1 fired'),
    ]);
  });

  it('challenges missed: few, expired, each during a fault', () => {
    const miss = (from: number, to: number, expired = true) => ({
      tid: `t-${from}`,
      kind: '3ds-approve',
      why: 'the page said "Authentication expired"',
      expired,
      from,
      to,
    });
    const faults = [fault({ payment: 1 }, 10_000, 14_000)];
    expect(challengeMissProblems([miss(5_000, 40_000)], 20, faults)).toEqual([]);
    expect(challengeMissProblems([miss(20_000, 55_000)], 20, faults)).toEqual([
      expect.stringContaining('while no fault was going on'),
    ]);
    expect(challengeMissProblems([miss(5_000, 40_000, false)], 20, faults)).toEqual([
      expect.stringContaining('without the page expiring'),
    ]);
    expect(challengeMissProblems([miss(5_000, 40_000), miss(6_000, 41_000)], 20, faults)).toEqual([
      expect.stringContaining('2 of 20 3DS challenges missed (at most 1 allowed)'),
    ]);
  });
});

describe('the plan', () => {
  const faults: Fault[] = [
    'kill-worker',
    'dual-start',
    'kill-api',
    'restart-temporal',
    'dual-stop',
    'restart-ferretdb',
    'kill-worker',
  ];

  it('the same seed gives the same scenarios, cards, amounts and fault schedule; another seed another plan', () => {
    const plan = planRun(1234, 60, faults);
    // Timing-dependent draws (the flaky webhook endpoint) come from a generator of their own.
    const timing = generator(1234, 'timing');
    for (let i = 0; i < 1000; i++) timing();
    expect(planRun(1234, 60, faults)).toEqual(plan);
    expect(planRun(1235, 60, faults).fingerprint).not.toBe(plan.fingerprint);
    expect(new Set(plan.scenarios.map((s) => s.amount)).size).toBeGreaterThan(1);
    expect(plan.faults.map((f) => f.fault)).toEqual(faults);
    for (const f of plan.faults) expect(f.at).toBeGreaterThan(0);
    for (const f of plan.faults) expect(f.at).toBeLessThan(60);
  });
});
