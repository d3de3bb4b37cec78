import type { LedgerDoc } from '../../activities/psp/simulator';
import {
  challengeMissProblems,
  type FaultRecord,
  faultsOnIdle,
  lostStripeAnswers,
  type ProcessorCall,
  processorTrafficToScan,
  shardMoveProblems,
  type StripePayment,
  stripeLedger,
  wrongEvents,
} from '../chaos/checks';
import {
  DEFAULT_PAYMENTS,
  describeShares,
  FAULT_LISTS,
  type Fault,
  generator,
  planRun,
  rerunCommand,
  STRIPE_KINDS,
  STRIPE_SHARE,
} from '../chaos/plan';
import { cardDataIn } from '../support/card-scan';
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

  it('sends a seeded share of the approving scenarios to Stripe, live and test, and nothing that needs test cards', () => {
    const plan = planRun(1234, 1000, faults);
    const eligible = plan.scenarios.filter((s) => STRIPE_KINDS.has(s.kind));
    const live = plan.scenarios.filter((s) => s.processor === 'stripe-live');
    const test = plan.scenarios.filter((s) => s.processor === 'stripe-test');
    for (const s of [...live, ...test]) expect(STRIPE_KINDS.has(s.kind)).toBe(true);
    // STRIPE_SHARE of the eligible ones, give or take the draw: about 15% of the load.
    expect((live.length + test.length) / eligible.length).toBeGreaterThan(STRIPE_SHARE - 0.07);
    expect((live.length + test.length) / eligible.length).toBeLessThan(STRIPE_SHARE + 0.07);
    expect(live.length).toBeGreaterThan(0);
    expect(test.length).toBeGreaterThan(0);
    for (const kind of STRIPE_KINDS)
      expect(live.some((s) => s.kind === kind) || test.some((s) => s.kind === kind)).toBe(true);
    expect(describeShares(plan)).toContain(`Stripe live ${live.length} (`);
    // The routing is part of the plan: same seed, same routing.
    expect(planRun(1234, 1000, faults).scenarios.map((s) => s.processor)).toEqual(
      plan.scenarios.map((s) => s.processor),
    );
  });
});

describe('the plan on the cluster profile', () => {
  it('leaves every dev plan as it was: the fingerprints RELIABILITY.md recorded still come out', () => {
    // The full rounds of 2026-11-30 with the Stripe share (RELIABILITY.md), seed → fingerprint.
    for (const [seed, fingerprint] of [
      [713594352, 'b712f5fbdc76'],
      [424242, 'bd29951eea7c'],
      [20261130, 'b06cb7a46633'],
    ] as const)
      expect(planRun(seed, DEFAULT_PAYMENTS.dev.full, FAULT_LISTS.dev.full).fingerprint).toBe(fingerprint);
    expect(planRun(1234, 60, FAULT_LISTS.dev.reduced, 'dev')).toEqual(planRun(1234, 60, FAULT_LISTS.dev.reduced));
    // And the cluster's full rounds recorded there, failures included.
    for (const [seed, fingerprint] of [
      [1130, '21e9a8909d8b'],
      [271828, 'e1bc025ed421'],
      [314159, '1f50cf27df86'],
    ] as const)
      expect(planRun(seed, DEFAULT_PAYMENTS.cluster.full, FAULT_LISTS.cluster.full, 'cluster').fingerprint).toBe(
        fingerprint,
      );
  });

  it('leaves at least 20 scenarios after the last fault, so that a fault delayed by the one before still finds load', () => {
    for (const profile of ['dev', 'cluster'] as const)
      for (const scale of ['reduced', 'full'] as const) {
        const count = DEFAULT_PAYMENTS[profile][scale];
        const { faults } = planRun(99, count, FAULT_LISTS[profile][scale], profile);
        expect(count - faults.at(-1)!.at).toBeGreaterThanOrEqual(20);
        // Still spread: in order, apart, none in the first stretch.
        for (let i = 1; i < faults.length; i++) expect(faults[i]!.at).toBeGreaterThan(faults[i - 1]!.at);
        expect(faults[0]!.at).toBeGreaterThan(0);
      }
  });

  it("plans the cluster's faults only on the cluster, and the dev server's restart only on the dev server", () => {
    expect(() => planRun(1234, 60, ['kill-worker', 'kill-history'])).toThrow('kill-history: not a fault of the dev');
    expect(() => planRun(1234, 60, ['restart-temporal'], 'cluster')).toThrow('not a fault of the cluster');
    for (const scale of ['reduced', 'full'] as const) {
      const faults = FAULT_LISTS.cluster[scale];
      for (const fault of ['kill-history', 'kill-matching', 'restart-frontend', 'restart-postgres'] as const)
        expect(faults).toContain(fault);
      expect(faults).not.toContain('restart-temporal');
    }
  });

  it('gives a cluster plan the same scenarios as the dev plan of its seed, alternates the history host, and says how to rerun it', () => {
    const dev = planRun(4242, 150, FAULT_LISTS.dev.reduced);
    const cluster = planRun(4242, 150, FAULT_LISTS.cluster.reduced, 'cluster');
    expect(cluster.scenarios).toEqual(dev.scenarios);
    expect(cluster.profile).toBe('cluster');
    expect(planRun(4242, 150, FAULT_LISTS.cluster.reduced, 'cluster')).toEqual(cluster);
    const targets = cluster.faults.filter((f) => f.fault === 'kill-history').map((f) => f.target);
    expect(targets).toHaveLength(2);
    expect(new Set(targets)).toEqual(new Set(['history-1', 'history-2']));
    for (const f of cluster.faults) if (f.fault !== 'kill-history') expect(f.target).toBeUndefined();
    // Over many seeds, each host is the first one killed about as often.
    const first = Array.from(
      { length: 200 },
      (_, seed) => planRun(seed, 150, FAULT_LISTS.cluster.full, 'cluster').faults.find((f) => f.target)!.target,
    );
    expect(first.filter((t) => t === 'history-1').length).toBeGreaterThan(70);
    expect(first.filter((t) => t === 'history-2').length).toBeGreaterThan(70);
    expect(rerunCommand(4242, true, undefined, 'cluster')).toBe(
      'SETTLEFLOW_STACK=cluster CHAOS_SEED=4242 npm run chaos',
    );
    expect(rerunCommand(4242, true, undefined)).toBe('CHAOS_SEED=4242 npm run chaos');
  });

  it('fails a history host outage whose shards did not all move to the host left, and an outage not watched', () => {
    const move = (owners: Record<string, number>, afterMs = 5_000) => ({
      killed: 'history-1',
      killedAddress: '127.0.0.1:7001',
      liveAddresses: ['127.0.0.1:7002'],
      owners,
      afterMs,
    });
    expect(shardMoveProblems([move({ '127.0.0.1:7002': 16 })], 1, 16)).toEqual([]);
    // The reading taken before the host left had acquired the dead host's shards.
    expect(shardMoveProblems([move({ '127.0.0.1:7001': 7, '127.0.0.1:7002': 9 }, 60_000)], 1, 16)).toEqual([
      expect.stringContaining(
        'the hosts left (127.0.0.1:7002) owned 9 of 16 shards (127.0.0.1:7001 7, 127.0.0.1:7002 9)',
      ),
    ]);
    expect(shardMoveProblems([], 1, 16)).toEqual(['1 history hosts killed but 0 shard moves watched']);
  });
});

describe("Stripe share: the recording proxy's log as the processor ledger", () => {
  const wf = (tid: string) => `payment-live-mer_s-${tid}`;
  const payment = (tid: string, status = 'captured', refunded = false, amount = 500): StripePayment => ({
    workflowId: wf(tid),
    tid,
    status,
    amount,
    refunded,
  });
  const call = (
    method: string,
    path: string,
    key: string | undefined,
    params: Record<string, string> = {},
    answer: Record<string, unknown> = {},
    status = 200,
  ): ProcessorCall => ({
    method,
    path,
    idempotencyKey: key,
    params,
    rawBody: new URLSearchParams(params).toString(),
    status,
    answer: JSON.stringify(answer),
  });
  /** What the connector sends for a payment that is authorized and captured: PaymentMethod, PaymentIntent, capture. */
  const paid = (tid: string, intent: string, amount = 500) => [
    call('POST', '/v1/payment_methods', `${wf(tid)}:payment_method`, { 'card[number]': '4242424242424242' }),
    call('POST', '/v1/payment_intents', `${wf(tid)}:payment_intent`, { amount: String(amount) }, { id: intent }),
    call('POST', `/v1/payment_intents/${intent}/capture`, `${wf(tid)}:capture`, {
      amount_to_capture: String(amount),
    }),
  ];
  const refund = (tid: string, intent: string, reference: string, amount = 500) =>
    call('POST', '/v1/refunds', `${wf(tid)}:refund:${reference}:refund`, {
      payment_intent: intent,
      amount: String(amount),
    });

  it('a captured and a refunded payment, retries under the same key and reads included, pass', () => {
    const calls = [
      ...paid('t-a', 'pi_a'),
      // the worker died mid-capture: the retry carries the same key
      call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-a')}:capture`, { amount_to_capture: '500' }),
      call('GET', '/v1/payment_intents/pi_a', undefined),
      ...paid('t-b', 'pi_b', 900),
      refund('t-b', 'pi_b', 'ref_1', 900),
      refund('t-b', 'pi_b', 'ref_1', 900),
    ];
    const ledger = stripeLedger(calls, [payment('t-a'), payment('t-b', 'captured', true, 900)]);
    expect(ledger.problems).toEqual([]);
    expect(ledger.byPayment.get(wf('t-a'))).toMatchObject({ captures: [`${wf('t-a')}:capture`], calls: 5 });
    expect(ledger.byPayment.get(wf('t-b'))!.refunds).toHaveLength(1);
  });

  it('a call Stripe refused moves nothing', () => {
    const calls = [
      ...paid('t-a', 'pi_a').slice(0, 2),
      call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-a')}:capture`, { amount_to_capture: '500' }, {}, 500),
    ];
    expect(stripeLedger(calls, [payment('t-a', 'failed')]).problems).toEqual([]);
  });

  it.each([
    [
      'a second capture under another key (double capture)',
      [payment('t-a')],
      [
        ...paid('t-a', 'pi_a'),
        call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-a')}:capture-again`, { amount_to_capture: '500' }),
      ],
      '2 capture key(s)',
    ],
    ['a capture for a failed payment', [payment('t-a', 'failed')], paid('t-a', 'pi_a'), '1 capture key(s)'],
    ['no capture for a captured payment', [payment('t-a')], paid('t-a', 'pi_a').slice(0, 2), '0 capture key(s)'],
    [
      'two refunds under two keys',
      [payment('t-a', 'captured', true)],
      [...paid('t-a', 'pi_a'), refund('t-a', 'pi_a', 'ref_1'), refund('t-a', 'pi_a', 'ref_2')],
      '2 refund key(s)',
    ],
    [
      'a refund the payment does not show',
      [payment('t-a')],
      [...paid('t-a', 'pi_a'), refund('t-a', 'pi_a', 'ref_1')],
      '1 refund key(s)',
    ],
    [
      'a refund without a capture',
      [payment('t-a', 'cancelled')],
      [...paid('t-a', 'pi_a').slice(0, 2), refund('t-a', 'pi_a', 'ref_1')],
      // a refund the payment does not show, and one without a capture
      ['1 refund key(s)', 'refunded at Stripe without a capture'],
    ],
    [
      "a capture of one payment's intent under another payment's key",
      [payment('t-a'), payment('t-b', 'failed')],
      [
        ...paid('t-a', 'pi_a'),
        ...paid('t-b', 'pi_b').slice(0, 2),
        call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-b')}:capture`, { amount_to_capture: '500' }),
      ],
      "on t-a's PaymentIntent under t-b's key",
    ],
    [
      'a call whose key names no payment of the run',
      [payment('t-a')],
      [...paid('t-a', 'pi_a'), call('POST', '/v1/payment_methods', 'payment-live-mer_s-t-z:payment_method')],
      'names no payment of the run',
    ],
    [
      'a mutating call without a key',
      [payment('t-a')],
      [...paid('t-a', 'pi_a'), call('POST', '/v1/payment_intents/pi_a/capture', undefined)],
      'without an Idempotency-Key',
    ],
    [
      'a read of an intent no payment created',
      [payment('t-a')],
      [...paid('t-a', 'pi_a'), call('GET', '/v1/payment_intents/pi_x', undefined)],
      'which no payment of the run created',
    ],
    [
      'a capture of the wrong amount',
      [payment('t-a')],
      [
        ...paid('t-a', 'pi_a').slice(0, 2),
        call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-a')}:capture`, { amount_to_capture: '50' }),
      ],
      'for 50, the payment is 500',
    ],
    [
      'two authorizations',
      [payment('t-a')],
      [
        ...paid('t-a', 'pi_a'),
        call('POST', '/v1/payment_intents', `${wf('t-a')}:payment_intent:2`, { amount: '500' }, { id: 'pi_a2' }),
      ],
      '2 PaymentIntents created',
    ],
    [
      'a captured payment also cancelled',
      [payment('t-a')],
      [...paid('t-a', 'pi_a'), call('POST', '/v1/payment_intents/pi_a/cancel', `${wf('t-a')}:void:cancel`)],
      'captured, and cancelled at Stripe',
    ],
  ] as const)('flags %s', (_name, payments, calls, problem) => {
    const expected: readonly string[] = typeof problem === 'string' ? [problem] : problem;
    const problems = stripeLedger([...calls], [...payments]).problems;
    expect(problems).toHaveLength(expected.length);
    expected.forEach((text, i) => expect(problems[i]).toContain(text));
  });

  it('a lost answer is resent under the same key; one resent under another key, or never, is flagged', () => {
    const calls = [
      ...paid('t-a', 'pi_a'),
      call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-a')}:capture`, { amount_to_capture: '500' }),
      call('GET', '/v1/payment_intents/pi_a', undefined),
    ];
    // The capture's answer was lost (the drop injected when the proxy had seen 2 calls): resent under its key.
    expect(lostStripeAnswers(calls, [2])).toEqual({ lost: [calls[2]], problems: [] });
    // Two drops injected at the same moment take calls 2 and 3: the resend's answer was lost too, and nothing
    // followed it.
    const twice = lostStripeAnswers(calls, [2, 2]);
    expect(twice.lost).toEqual([calls[2], calls[3]]);
    expect(twice.problems).toEqual([expect.stringContaining('never sent again under the same key')]);
    // A read needs no resend; a drop injected after the last call hit nothing.
    expect(lostStripeAnswers(calls, [4, 9])).toEqual({ lost: [calls[4]], problems: [] });
    const rekeyed = [
      ...paid('t-a', 'pi_a'),
      call('POST', '/v1/payment_intents/pi_a/capture', `${wf('t-a')}:capture:2`, { amount_to_capture: '500' }),
    ];
    expect(lostStripeAnswers(rekeyed, [2]).problems).toEqual([
      expect.stringContaining('never sent again under the same key'),
    ]);
    expect(lostStripeAnswers(paid('t-a', 'pi_a'), [0]).problems).toHaveLength(1);
  });

  it('a Tid holding colons is still found by its key', () => {
    expect(stripeLedger(paid('t:1:x', 'pi_c'), [payment('t:1:x')]).problems).toEqual([]);
  });
});

describe('Stripe traffic scanned for card data', () => {
  const card = '4242424242424242';
  const scan = (calls: ProcessorCall[]) =>
    processorTrafficToScan(calls).flatMap(({ where, text }) => cardDataIn(where, text));
  const request = (path: string, params: Record<string, string>, key = 'payment-test-m-t:step', answer = '{}') => ({
    method: 'POST',
    path,
    idempotencyKey: key,
    params,
    rawBody: new URLSearchParams(params).toString(),
    status: 200,
    answer,
  });

  it('the card may be in the PaymentMethod request, and nowhere else', () => {
    expect(
      scan([request('/v1/payment_methods', { 'card[number]': card, 'card[cvc]': '123', 'card[exp_month]': '12' })]),
    ).toEqual([]);
    expect(scan([request('/v1/payment_intents', { description: `card ${card}` })])).toHaveLength(1);
    expect(scan([request('/v1/payment_intents', { 'metadata[cvc]': '123' })])).toHaveLength(1);
    expect(scan([request('/v1/refunds', {}, `payment-test-m-${card}:refund`)])).toHaveLength(1);
    expect(scan([request(`/v1/payment_intents?q=${card}`, {})])).toHaveLength(1);
    // Not even Stripe's answer to the PaymentMethod request may carry it back.
    expect(scan([request('/v1/payment_methods', {}, 'k', JSON.stringify({ card: { number: card } }))])).toHaveLength(1);
  });
});
