import { randomUUID } from 'node:crypto';
import { type WorkflowHandle, WorkflowUpdateStage } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { paymentStartOptions, requestRefund, startPayment } from '../../src/temporal/payment-workflows';
import { ensureBinary, temporalSpec } from '../../tools/binaries';
import {
  challengeResultUpdate,
  challengeReturnedUpdate,
  processorEventSignal,
  refundUpdate,
  stateQuery,
} from '../../workflows/messages';
import {
  type Decision,
  type PaymentOutcome,
  type RefundAnswer,
  PAYMENT_WORKFLOW_TYPE,
} from '../../workflows/vocabulary';
import type { paymentWorkflowV2 } from '../../workflows/payment-workflow';
import {
  SA_AMOUNT,
  SA_MERCHANT_ID,
  SA_MODE,
  SA_STATUS,
  SA_TID,
  SEARCH_ATTRIBUTES,
} from '../../workflows/search-attributes';
import { FakeWorld, Gate, MASKED_PAN, type TestPayment, waitFor } from './fakes';

/**
 * The payment workflow against its own Temporal dev server (the Go-built CLI; no time skipping without Java) and
 * in-memory activities. Durations in the inputs are seconds, so timers really run. The suite does not use the
 * stack that the integration project's global setup starts.
 */
jest.setTimeout(30_000);

const world = new FakeWorld();
const taskQueue = `payment-workflow-test-${randomUUID()}`;
const gates: Gate[] = [];
let env: TestWorkflowEnvironment;
let worker: Worker | undefined;
let running: Promise<void> | undefined;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: await ensureBinary(temporalSpec) },
      namespace: 'default',
      // The starter sets all of them and the workflow upserts PaymentStatus: unknown attributes fail the start.
      searchAttributes: [...SEARCH_ATTRIBUTES],
      // As the platform's own dev server (tools/servers.ts): update-with-start answers the payment request.
      extraArgs: [
        '--dynamic-config-value',
        'frontend.enableExecuteMultiOperation=true',
        '--dynamic-config-value',
        'frontend.enableUpdateWorkflowExecution=true',
      ],
    },
  });
  worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    workflowsPath: require.resolve('../../workflows'),
    activities: world.activities(),
    shutdownForceTime: '10s',
  });
  running = worker.run();
}, 180_000);

afterAll(async () => {
  for (const gate of gates) gate.open();
  worker?.shutdown();
  await running;
  await env?.teardown();
}, 60_000);

function gate(): Gate {
  const g = new Gate();
  gates.push(g);
  return g;
}

type PaymentHandle = WorkflowHandle<typeof paymentWorkflowV2>;

function handleOf(payment: TestPayment): PaymentHandle {
  return env.client.workflow.getHandle<typeof paymentWorkflowV2>(payment.workflowId);
}

/** Starts the payment as the API does (update-with-start, typed search attributes) and returns its first answer. */
async function decide(payment: TestPayment): Promise<{ decision: Decision; handle: PaymentHandle; decidedAt: number }> {
  const started = await startPayment(env.client, taskQueue, payment.input, 20_000, {
    requestId: `req-${payment.input.tid}`,
  });
  if (started.kind !== 'decided') throw new Error(`no decision: ${started.kind}`);
  return { decision: started.decision, handle: handleOf(payment), decidedAt: Date.now() };
}

// No "card number not in history" check here: a workflow holds only its input (vault token, masked PAN) and what
// its activities return, both of which Temporal records as they are, so with fake activities that never return
// the card no workflow code could make such a check fail. Where the PAN could really enter a history, the check
// runs on real parts: test/api/card-data-scan.test.ts (the API's workflow input, every real history) and
// test/platform/cvv-drop.test.ts (the real authorizePayment returns the processor's outcome and nothing else).

/** Past capture and card release, waiting out the window: where a test sends a refund that is not about timing. */
async function refundWindowOpen(handle: PaymentHandle): Promise<void> {
  await waitFor('the refund window', async () => (await handle.query(stateQuery)).waitingFor === 'refund-window');
}

const events = (payment: TestPayment) => world.deliveries(payment).map((d) => d.event);
const statusesWritten = (payment: TestPayment) =>
  world
    .writes(payment)
    .filter((w) => w.applied && w.input.status)
    .map((w) => w.input.status);

describe('payment workflow', () => {
  describe('authorization', () => {
    it('captures an approved payment, tells the merchant once, releases the card and ends after the refund window', async () => {
      const payment = world.payment('approve');
      const { decision, handle, decidedAt } = await decide(payment);

      expect(decision).toMatchObject({ status: 'captured', message: 'Payment was successful' });
      expect(decision.threeDSUrl).toBeUndefined();
      const outcome = await handle.result();
      expect(outcome).toEqual<PaymentOutcome>({ status: 'captured', message: 'Payment was successful' });
      // The timer starts after capture and the card release, so the workflow lives at least the window after the answer.
      expect(Date.now() - decidedAt).toBeGreaterThanOrEqual(payment.input.refundWindowMs - 500);

      expect(world.authorizeCalls(payment)).toEqual([
        expect.objectContaining({ idempotencyKey: payment.workflowId, authenticated: false }),
      ]);
      expect(world.captureCalls(payment)).toEqual([
        expect.objectContaining({ idempotencyKey: payment.workflowId, pspReference: `psp_${payment.workflowId}` }),
      ]);
      expect(world.refundCalls(payment)).toHaveLength(0);

      // The API reserved the projection as `pending` (seq 0); the workflow moves it on with increasing seq.
      const writes = world.writes(payment);
      expect(writes.map((w) => [w.input.seq, w.input.status, w.applied])).toEqual([
        [1, 'authorized', true],
        [2, 'captured', true],
      ]);
      expect(['pending', ...statusesWritten(payment)]).toEqual(['pending', 'authorized', 'captured']);
      expect(world.projections.get(payment.paymentKey)).toMatchObject({
        seq: 2,
        status: 'captured',
        message: 'Payment was successful',
      });

      const deliveries = world.deliveries(payment);
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]).toMatchObject({ event: 'PAYMENT_CAPTURED', attempt: 1 });
      expect(deliveries[0]!.deliveryId).toMatch(/^whd_[0-9a-f-]{36}$/);
      expect(world.attempts(payment)).toHaveLength(1);

      expect(world.releasedCards).toContain(payment.input.vaultToken);
      expect(world.vault.has(payment.input.vaultToken)).toBe(false);

      const described = await handle.describe();
      expect(described.status.name).toBe('COMPLETED');
      expect(described.typedSearchAttributes.get(SA_STATUS)).toBe('captured');
      expect(described.typedSearchAttributes.get(SA_TID)).toBe(payment.input.tid);
      expect(described.typedSearchAttributes.get(SA_MERCHANT_ID)).toBe(payment.input.merchantId);
      expect(described.typedSearchAttributes.get(SA_MODE)).toBe('test');
      expect(described.typedSearchAttributes.get(SA_AMOUNT)).toBe(payment.input.amount);
    });

    it('fails a declined payment with the processor message, captures nothing and ends without a refund window', async () => {
      // A long window: the workflow must not wait on it when nothing was captured.
      const payment = world.payment('decline', { refundWindowMs: 60_000 });
      world.script(payment, { authorize: () => ({ kind: 'declined', message: 'Insufficient funds' }) });
      const started = Date.now();
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({ status: 'failed', message: 'Insufficient funds' });
      expect(await handle.result()).toEqual<PaymentOutcome>({ status: 'failed', message: 'Insufficient funds' });
      expect(Date.now() - started).toBeLessThan(20_000);

      expect(world.authorizeCalls(payment)).toHaveLength(1);
      expect(world.captureCalls(payment)).toHaveLength(0);
      expect(statusesWritten(payment)).toEqual(['failed']);
      expect(events(payment)).toEqual(['PAYMENT_FAILED']);
      expect(world.releasedCards).toContain(payment.input.vaultToken);
      expect((await handle.describe()).typedSearchAttributes.get(SA_STATUS)).toBe('failed');
    });

    it('hides transient processor failures behind retries and still authorizes and captures exactly once', async () => {
      const payment = world.payment('transient', { refundWindowMs: 500 });
      world.script(payment, {
        authorize: (_input, call) => {
          if (call <= 2) throw new Error('processor timeout');
          return { kind: 'approved', pspReference: 'psp_after_retries' };
        },
      });
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({ status: 'captured', message: 'Payment was successful' });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(world.authorizeCalls(payment)).toHaveLength(3);
      expect(world.captureCalls(payment)).toEqual([expect.objectContaining({ pspReference: 'psp_after_retries' })]);
      expect(events(payment)).toEqual(['PAYMENT_CAPTURED']);
    });

    it('fails at once, without retrying, when the card data is no longer in the vault', async () => {
      const payment = world.payment('card-gone', {}, { vaultCard: false });
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({
        status: 'failed',
        message: 'Payment could not be completed: card data expired',
      });
      expect(await handle.result()).toMatchObject({
        status: 'failed',
        message: 'Payment could not be completed: card data expired',
      });
      expect(world.authorizeCalls(payment)).toHaveLength(1);
      expect(world.captureCalls(payment)).toHaveLength(0);
      expect(events(payment)).toEqual(['PAYMENT_FAILED']);
      expect(world.releasedCards).toContain(payment.input.vaultToken);
    });

    it('voids the authorization when the processor refuses the capture, and fails saying so everywhere', async () => {
      const payment = world.payment('capture-refused', { refundWindowMs: 60_000 });
      world.script(payment, { capture: () => ({ kind: 'failed', message: 'Capture refused' }) });
      const { decision, handle } = await decide(payment);
      const message = 'Capture failed (Capture refused); the authorization was voided';

      expect(decision).toMatchObject({ status: 'failed', message });
      expect(await handle.result()).toEqual<PaymentOutcome>({ status: 'failed', message });
      expect(world.captureCalls(payment)).toHaveLength(1);
      // Through the connector, with a key of its own derived from the workflow id and the step.
      expect(world.voidCalls(payment)).toEqual([
        {
          idempotencyKey: `${payment.workflowId}:void`,
          connector: 'fake',
          account: { merchantId: payment.input.merchantId, mode: 'test' },
          pspReference: `psp_${payment.workflowId}`,
          amount: 1999,
          currency: 'EUR',
        },
      ]);
      expect(world.refundCalls(payment)).toHaveLength(0);
      expect(statusesWritten(payment)).toEqual(['authorized', 'failed']);
      expect(world.projections.get(payment.paymentKey)).toMatchObject({ status: 'failed', message });
      expect(world.deliveries(payment).map((d) => [d.event, d.message])).toEqual([['PAYMENT_FAILED', message]]);
      expect((await handle.query(stateQuery)).message).toBe(message);
      expect(world.releasedCards).toContain(payment.input.vaultToken);
    });

    it('retries the void until the processor answers, and says failed only once it has', async () => {
      const payment = world.payment('void-retried');
      const processorBack = gate();
      world.script(payment, {
        capture: () => ({ kind: 'failed', message: 'Capture refused' }),
        void: async (_input, call) => {
          if (call <= 2) throw new Error('processor timeout');
          await processorBack.pass();
          return { kind: 'voided' };
        },
      });
      await env.client.workflow.start(
        PAYMENT_WORKFLOW_TYPE,
        paymentStartOptions(payment.workflowId, taskQueue, payment.input),
      );
      const handle = handleOf(payment);
      await waitFor('the third void attempt', () => processorBack.reached === 1);
      // Nothing final is said before the authorization is released.
      expect(await handle.query(stateQuery)).toMatchObject({ status: 'authorized', waitingFor: 'processor' });
      expect(world.projections.get(payment.paymentKey)).toMatchObject({ status: 'authorized' });
      expect(world.attempts(payment)).toHaveLength(0);

      processorBack.open();
      expect(await handle.result()).toEqual<PaymentOutcome>({
        status: 'failed',
        message: 'Capture failed (Capture refused); the authorization was voided',
      });
      expect(world.voidCalls(payment).map((c) => c.idempotencyKey)).toEqual(
        Array(3).fill(`${payment.workflowId}:void`),
      );
    });

    it('gives up a capture that fails on every attempt after the bound, then voids', async () => {
      const payment = world.payment('capture-unanswered', { captureMaxAttempts: 3 });
      world.script(payment, {
        capture: () => {
          throw new Error('processor timeout');
        },
      });
      const { decision, handle } = await decide(payment);
      const message = 'Capture failed (the processor did not answer); the authorization was voided';

      expect(decision).toMatchObject({ status: 'failed', message });
      expect(await handle.result()).toEqual<PaymentOutcome>({ status: 'failed', message });
      expect(world.captureCalls(payment)).toHaveLength(3);
      expect(world.voidCalls(payment)).toHaveLength(1);
      expect(world.deliveries(payment).map((d) => [d.event, d.message])).toEqual([['PAYMENT_FAILED', message]]);
    });

    it('captures a payment whose capture fails transiently within the bound, and voids nothing', async () => {
      const payment = world.payment('capture-outage', { captureMaxAttempts: 3, refundWindowMs: 500 });
      world.script(payment, {
        capture: (_input, call) => {
          if (call <= 2) throw new Error('processor timeout');
          return { kind: 'captured' };
        },
      });
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({ status: 'captured', message: 'Payment was successful' });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(world.captureCalls(payment)).toHaveLength(3);
      expect(world.voidCalls(payment)).toHaveLength(0);
    });

    it('says so, for ops, when the processor refuses the void too', async () => {
      const payment = world.payment('void-refused');
      world.script(payment, {
        capture: () => ({ kind: 'failed', message: 'Capture refused' }),
        void: () => ({ kind: 'failed', message: 'Authorization not found' }),
      });
      const { decision, handle } = await decide(payment);
      const message =
        'Capture failed (Capture refused); voiding the authorization failed too (Authorization not found): the amount may stay on hold until the issuer releases it';

      expect(decision).toMatchObject({ status: 'failed', message });
      expect(await handle.result()).toEqual<PaymentOutcome>({ status: 'failed', message });
      expect(world.voidCalls(payment)).toHaveLength(1);
      expect(world.projections.get(payment.paymentKey)).toMatchObject({ status: 'failed', message });
      expect(world.deliveries(payment).map((d) => [d.event, d.message])).toEqual([['PAYMENT_FAILED', message]]);
    });
  });

  describe('refunds', () => {
    it('refunds a captured payment once, synchronously, and then ends without waiting for the rest of the window', async () => {
      const payment = world.payment('refund', { refundWindowMs: 60_000 });
      const { handle } = await decide(payment);
      await refundWindowOpen(handle);
      const reference = `ref_${randomUUID()}`;

      const answer = await handle.executeUpdate(refundUpdate, { args: [{ reference }] });
      expect(answer).toEqual<RefundAnswer>({
        ok: true,
        status: 'captured',
        reference,
        message: 'Payment refunded',
        date: expect.any(String) as string,
      });
      const started = Date.now();
      expect(await handle.result()).toEqual<PaymentOutcome>({
        status: 'captured',
        message: 'Payment was successful',
        refund: { reference, status: 'captured' },
      });
      expect(Date.now() - started).toBeLessThan(20_000);

      expect(world.refundCalls(payment)).toEqual([
        expect.objectContaining({
          idempotencyKey: `${payment.workflowId}:refund:${reference}`,
          pspReference: `psp_${payment.workflowId}`,
          amount: 1999,
        }),
      ]);
      expect(world.refundReferences.filter((r) => r.paymentKey === payment.paymentKey)).toEqual([
        { reference, paymentKey: payment.paymentKey, merchantId: payment.input.merchantId, mode: 'test' },
      ]);
      const refundWrite = world.writes(payment).at(-1)!;
      expect(refundWrite).toMatchObject({
        applied: true,
        input: { seq: 3, refund: { reference, status: 'captured', message: 'Payment refunded' } },
      });
      expect(world.projections.get(payment.paymentKey)).toMatchObject({
        status: 'captured',
        refund: { reference, status: 'captured' },
      });
    });

    it('delivers REFUND_SUCCEEDED only after PAYMENT_CAPTURED, when the merchant is slow to take the first', async () => {
      const payment = world.payment('refund-order', { refundWindowMs: 60_000 });
      const merchantSlow = gate();
      world.scriptWebhooks(payment, async (input) => {
        if (input.event === 'PAYMENT_CAPTURED') await merchantSlow.pass();
      });
      const { handle } = await decide(payment);
      await waitFor('the PAYMENT_CAPTURED attempt', () => merchantSlow.reached === 1);
      await refundWindowOpen(handle);

      const reference = `ref_${randomUUID()}`;
      expect(await handle.executeUpdate(refundUpdate, { args: [{ reference }] })).toMatchObject({
        ok: true,
        status: 'captured',
      });
      expect(await handle.query(stateQuery)).toMatchObject({ webhooksPending: 2 });
      expect(world.attempts(payment).map((a) => a.event)).toEqual(['PAYMENT_CAPTURED']);
      merchantSlow.open();
      await handle.result();

      expect(world.attempts(payment).map((a) => [a.event, a.delivered])).toEqual([
        ['PAYMENT_CAPTURED', true],
        ['REFUND_SUCCEEDED', true],
      ]);
      const [captured, refunded] = world.deliveries(payment);
      expect(refunded!.deliveryId).toMatch(/^whd_/);
      expect(refunded!.deliveryId).not.toBe(captured!.deliveryId);
    });

    // The refund handler queues its webhook last: the workflow must not end before that delivery is done.
    it('delivers REFUND_SUCCEEDED when PAYMENT_CAPTURED was already delivered, before the workflow ends', async () => {
      const payment = world.payment('refund-webhook', { refundWindowMs: 60_000 });
      const { handle } = await decide(payment);
      await waitFor('PAYMENT_CAPTURED delivered', () => world.deliveries(payment).length === 1);
      await refundWindowOpen(handle);

      const answer = await handle.executeUpdate(refundUpdate, { args: [{ reference: `ref_${randomUUID()}` }] });
      expect(answer.ok).toBe(true);
      await handle.result();

      // Whatever the workflow scheduled is done once it has ended: nothing is delivered later.
      expect(events(payment)).toEqual(['PAYMENT_CAPTURED', 'REFUND_SUCCEEDED']);
    });

    it('answers two concurrent refunds with one refund and one already_refunded, moving money once', async () => {
      const payment = world.payment('double-refund', { refundWindowMs: 60_000 });
      const processorGate = gate();
      world.script(payment, {
        refund: async (input) => {
          await processorGate.pass();
          return { kind: 'refunded', pspReference: `psr_${input.idempotencyKey}` };
        },
      });
      const { handle } = await decide(payment);
      await refundWindowOpen(handle);

      // Both are accepted while the first is still at the processor; the workflow cannot end meanwhile.
      const first = await handle.startUpdate(refundUpdate, {
        args: [{ reference: 'ref_double_a' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      const second = await handle.startUpdate(refundUpdate, {
        args: [{ reference: 'ref_double_b' }],
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      processorGate.open();
      const answers = await Promise.all([first.result(), second.result()]);

      expect(answers.filter((a) => a.ok)).toHaveLength(1);
      expect(answers.filter((a) => !a.ok)).toEqual([{ ok: false, reason: 'already_refunded' }]);
      expect(world.refundCalls(payment)).toHaveLength(1);
      expect(world.refundReferences.filter((r) => r.paymentKey === payment.paymentKey)).toHaveLength(1);
      expect((await handle.result()).refund).toMatchObject({ status: 'captured' });
    });

    it('refuses to refund a declined payment with not_captured', async () => {
      const payment = world.payment('refund-declined');
      world.script(payment, { authorize: () => ({ kind: 'declined', message: 'Card declined' }) });
      // The PAYMENT_FAILED delivery holds the workflow open until the refund has been answered.
      const webhookGate = gate();
      world.scriptWebhooks(payment, () => webhookGate.pass());
      const { decision, handle } = await decide(payment);
      expect(decision.status).toBe('failed');
      await waitFor('the PAYMENT_FAILED delivery', () => webhookGate.reached === 1);
      // Past the card release: the payment is final and only its webhook keeps the workflow open.
      await waitFor('the webhook stage', async () => (await handle.query(stateQuery)).waitingFor === 'webhook');

      expect(await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_declined' }] })).toEqual<RefundAnswer>(
        { ok: false, reason: 'not_captured' },
      );
      webhookGate.open();
      expect(await handle.result()).toMatchObject({ status: 'failed' });
      expect(world.refundCalls(payment)).toHaveLength(0);
      expect(world.refundReferences.filter((r) => r.paymentKey === payment.paymentKey)).toHaveLength(0);
    });

    // The refund handler exists from the start: an update with no handler at the end of an activation is rejected.
    it('answers a refund sent while authorization is still pending with not_captured', async () => {
      const payment = world.payment('refund-pending');
      const processorGate = gate();
      world.script(payment, {
        authorize: async () => {
          await processorGate.pass();
          return { kind: 'declined', message: 'Card declined' };
        },
      });
      // A plain start, no decision awaited: the test holds the processor while it sends the refund.
      await env.client.workflow.start(
        PAYMENT_WORKFLOW_TYPE,
        paymentStartOptions(payment.workflowId, taskQueue, payment.input),
      );
      const handle = handleOf(payment);
      await waitFor('the authorization call', () => processorGate.reached === 1);
      expect(await handle.query(stateQuery)).toMatchObject({ status: 'pending', waitingFor: 'processor' });

      try {
        // Accepted while the processor has not answered (whether it is answered now or after the decline).
        const refund = await handle.startUpdate(refundUpdate, {
          args: [{ reference: 'ref_pending' }],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        processorGate.open();
        expect(await refund.result()).toEqual<RefundAnswer>({ ok: false, reason: 'not_captured' });
      } finally {
        processorGate.open();
      }
      expect(await handle.result()).toMatchObject({ status: 'failed', message: 'Card declined' });
      expect(world.refundCalls(payment)).toHaveLength(0);
    });

    it('refunds a payment whose refund arrives right after the captured answer, while the card is being released', async () => {
      const payment = world.payment('refund-early', { refundWindowMs: 60_000 });
      const releaseGate = gate();
      world.holdCardRelease(payment, releaseGate);
      const { decision, handle } = await decide(payment);
      expect(decision.status).toBe('captured');
      await waitFor('the card release', () => releaseGate.reached === 1);

      try {
        const refund = await handle.startUpdate(refundUpdate, {
          args: [{ reference: 'ref_early' }],
          waitForStage: WorkflowUpdateStage.ACCEPTED,
        });
        releaseGate.open();
        expect(await refund.result()).toMatchObject({ ok: true, status: 'captured', reference: 'ref_early' });
      } finally {
        releaseGate.open();
      }
      expect(await handle.result()).toMatchObject({
        status: 'captured',
        refund: { reference: 'ref_early', status: 'captured' },
      });
      expect(world.refundCalls(payment)).toHaveLength(1);
    });

    it('answers a refund the processor refuses as failed, tells the merchant REFUND_FAILED, and allows another refund', async () => {
      const payment = world.payment('refund-refused', { refundWindowMs: 60_000 });
      // Each attempt has its own Reference, hence its own idempotency key: the first one the processor refuses.
      world.script(payment, {
        refund: (input) =>
          input.idempotencyKey.endsWith(':ref_refused_1')
            ? { kind: 'failed', message: 'Refund not permitted' }
            : { kind: 'refunded', pspReference: 'psr_second' },
      });
      const { handle } = await decide(payment);
      await refundWindowOpen(handle);

      expect(await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_refused_1' }] })).toMatchObject({
        ok: true,
        status: 'failed',
        reference: 'ref_refused_1',
        message: 'Refund failed: Refund not permitted',
      });
      await waitFor('REFUND_FAILED delivered', () => events(payment).includes('REFUND_FAILED'));
      expect(events(payment)).toEqual(['PAYMENT_CAPTURED', 'REFUND_FAILED']);
      expect(await handle.query(stateQuery)).toMatchObject({
        status: 'captured',
        waitingFor: 'refund-window',
        refund: { reference: 'ref_refused_1', status: 'failed' },
      });

      expect(await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_refused_2' }] })).toMatchObject({
        ok: true,
        status: 'captured',
      });
      expect(await handle.result()).toMatchObject({
        status: 'captured',
        refund: { reference: 'ref_refused_2', status: 'captured' },
      });
      expect(world.refundCalls(payment).map((c) => c.idempotencyKey)).toEqual([
        `${payment.workflowId}:refund:ref_refused_1`,
        `${payment.workflowId}:refund:ref_refused_2`,
      ]);
    });

    it('ends captured when the refund window passes without a refund, and a later refund is refused', async () => {
      const payment = world.payment('window-expiry');
      const { handle, decidedAt } = await decide(payment);
      await refundWindowOpen(handle);

      expect(await handle.result()).toEqual<PaymentOutcome>({ status: 'captured', message: 'Payment was successful' });
      expect(Date.now() - decidedAt).toBeGreaterThanOrEqual(payment.input.refundWindowMs - 500);

      await expect(handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_too_late' }] })).rejects.toThrow();
      // What the API makes of it (src/temporal/payment-workflows.ts).
      expect(await requestRefund(env.client, payment.workflowId, 'ref_too_late_api', 5_000)).toEqual<RefundAnswer>({
        ok: false,
        reason: 'refund_window_closed',
      });
      expect(world.refundCalls(payment)).toHaveLength(0);
    });
  });

  describe('3-D Secure', () => {
    it('challenges first when the merchant asked for 3DS, then authorizes authenticated and captures', async () => {
      const payment = world.payment('3ds-requested', { threeDSRequested: true });
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({
        status: 'pending',
        message: '3DSecure authentication required',
        threeDSUrl: payment.input.threeDSUrl,
      });
      expect(world.authorizeCalls(payment)).toHaveLength(0);
      expect(world.projections.get(payment.paymentKey)).toMatchObject({
        seq: 1,
        status: 'pending',
        threeDSUrl: payment.input.threeDSUrl,
      });

      const answer = await handle.executeUpdate(challengeResultUpdate, { args: ['approved'] });
      expect(answer).toMatchObject({
        accepted: true,
        decision: { status: 'captured', message: 'Payment was successful' },
      });
      expect(world.authorizeCalls(payment).map((c) => c.authenticated)).toEqual([true]);
      expect(world.captureCalls(payment)).toHaveLength(1);
      expect(statusesWritten(payment)).toEqual(['pending', 'authorized', 'captured']);
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(events(payment)).toEqual(['PAYMENT_CAPTURED']);
    });

    it('challenges when the processor requires it, then captures after the cardholder approves', async () => {
      const payment = world.payment('3ds-processor');
      world.script(payment, {
        authorize: (input) =>
          input.authenticated ? { kind: 'approved', pspReference: 'psp_3ds' } : { kind: 'challenge_required' },
      });
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({ status: 'pending', threeDSUrl: payment.input.threeDSUrl });
      const answer = await handle.executeUpdate(challengeResultUpdate, { args: ['approved'] });
      expect(answer).toMatchObject({ accepted: true, decision: { status: 'captured' } });
      expect(world.authorizeCalls(payment).map((c) => c.authenticated)).toEqual([false, true]);
      expect(world.captureCalls(payment)).toEqual([expect.objectContaining({ pspReference: 'psp_3ds' })]);
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(events(payment)).toEqual(['PAYMENT_CAPTURED']);
    });

    it('rejects the payment when the cardholder fails the challenge', async () => {
      const payment = world.payment('3ds-failed', { refundWindowMs: 60_000 });
      world.script(payment, {
        authorize: (input) =>
          input.authenticated ? { kind: 'approved', pspReference: 'psp_3ds' } : { kind: 'challenge_required' },
      });
      const { handle } = await decide(payment);

      const answer = await handle.executeUpdate(challengeResultUpdate, { args: ['failed'] });
      expect(answer).toMatchObject({
        accepted: true,
        decision: { status: 'rejected_pw', message: '3DSecure authentication failed' },
      });
      expect(await handle.result()).toEqual<PaymentOutcome>({
        status: 'rejected_pw',
        message: '3DSecure authentication failed',
      });
      expect(world.authorizeCalls(payment).map((c) => c.authenticated)).toEqual([false]);
      expect(world.captureCalls(payment)).toHaveLength(0);
      expect(events(payment)).toEqual(['PAYMENT_REJECTED']);
      expect(world.releasedCards).toContain(payment.input.vaultToken);
      expect((await handle.describe()).typedSearchAttributes.get(SA_STATUS)).toBe('rejected_pw');
    });

    it('cancels the payment when the challenge is not answered within the 3DS timeout', async () => {
      const payment = world.payment('3ds-timeout', { refundWindowMs: 60_000 });
      world.script(payment, {
        authorize: (input) =>
          input.authenticated ? { kind: 'approved', pspReference: 'psp_3ds' } : { kind: 'challenge_required' },
      });
      const { handle, decidedAt } = await decide(payment);

      expect(await handle.result()).toEqual<PaymentOutcome>({
        status: 'cancelled',
        message: '3DSecure authentication not completed in time',
      });
      expect(Date.now() - decidedAt).toBeGreaterThanOrEqual(payment.input.threeDSTimeoutMs - 500);
      expect(world.authorizeCalls(payment)).toHaveLength(1);
      expect(world.captureCalls(payment)).toHaveLength(0);
      expect(statusesWritten(payment)).toEqual(['pending', 'cancelled']);
      expect(events(payment)).toEqual(['PAYMENT_CANCELLED']);
      expect(world.releasedCards).toContain(payment.input.vaultToken);
      expect(world.vault.has(payment.input.vaultToken)).toBe(false);
    });

    it('refuses a second challenge answer with already_answered', async () => {
      const payment = world.payment('3ds-twice', { threeDSRequested: true, refundWindowMs: 60_000 });
      const { handle } = await decide(payment);

      expect(await handle.executeUpdate(challengeResultUpdate, { args: ['approved'] })).toMatchObject({
        accepted: true,
      });
      expect(await handle.executeUpdate(challengeResultUpdate, { args: ['failed'] })).toEqual({
        accepted: false,
        reason: 'already_answered',
        status: 'captured',
      });
      expect(world.authorizeCalls(payment)).toHaveLength(1);
      // Ends the payment without waiting out its window.
      await refundWindowOpen(handle);
      await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_3ds_twice' }] });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
    });

    it('refuses a challenge answer when no challenge is outstanding with not_waiting', async () => {
      const payment = world.payment('3ds-not-waiting', { refundWindowMs: 60_000 });
      const { handle } = await decide(payment);

      expect(await handle.executeUpdate(challengeResultUpdate, { args: ['approved'] })).toEqual({
        accepted: false,
        reason: 'not_waiting',
        status: 'captured',
      });
      await refundWindowOpen(handle);
      await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_not_waiting' }] });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(world.authorizeCalls(payment)).toHaveLength(1);
    });
  });

  describe('webhooks', () => {
    it('lets a processor that hosts 3-D Secure run the challenge, 3DS=yes included, and captures once it says so', async () => {
      const payment = world.payment('psp-3ds', { connector: 'stripe', threeDSRequested: true });
      world.script(payment, {
        authorize: () => ({
          kind: 'challenge_required',
          pspReference: 'pi_3ds',
          redirectUrl: 'https://psp.example/3ds/pi_3ds',
        }),
        check: () => ({ kind: 'approved', pspReference: 'pi_3ds' }),
      });
      const { decision, handle } = await decide(payment);

      expect(decision).toMatchObject({ status: 'pending', threeDSUrl: payment.input.threeDSUrl });
      expect(world.authorizeCalls(payment)).toEqual([
        expect.objectContaining({
          threeDSRequested: true,
          returnUrl: `${payment.input.threeDSUrl}/return`,
          account: { merchantId: payment.input.merchantId, mode: 'test' },
          labels: { workflowId: payment.workflowId, reference: payment.input.reference, tid: payment.input.tid },
        }),
      ]);
      expect(world.projections.get(payment.paymentKey)).toMatchObject({
        status: 'pending',
        threeDSUrl: payment.input.threeDSUrl,
        challengeRedirectUrl: 'https://psp.example/3ds/pi_3ds',
      });
      // The sandbox page's answer is not how this challenge ends.
      expect(await handle.executeUpdate(challengeResultUpdate, { args: ['approved'] })).toMatchObject({
        accepted: false,
        reason: 'not_waiting',
      });

      const answer = await handle.executeUpdate(challengeReturnedUpdate);
      expect(answer).toMatchObject({ accepted: true, decision: { status: 'captured' } });
      expect(world.checkCalls(payment)).toEqual([expect.objectContaining({ pspReference: 'pi_3ds' })]);
      expect(world.authorizeCalls(payment)).toHaveLength(1);
      expect(world.captureCalls(payment)).toEqual([expect.objectContaining({ pspReference: 'pi_3ds' })]);
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(events(payment)).toEqual(['PAYMENT_CAPTURED']);
    });

    it('keeps a processor challenge open when the cardholder comes back unfinished, until a processor event says it is done', async () => {
      const payment = world.payment('psp-3ds-later', { connector: 'stripe', refundWindowMs: 60_000 });
      world.script(payment, {
        authorize: () => ({
          kind: 'challenge_required',
          pspReference: 'pi_later',
          redirectUrl: 'https://psp.example/3ds/pi_later',
        }),
        check: (_input, call) =>
          call === 1
            ? { kind: 'challenge_required', pspReference: 'pi_later', redirectUrl: 'https://psp.example/3ds/pi_later' }
            : { kind: 'approved', pspReference: 'pi_later' },
      });
      const { handle } = await decide(payment);

      expect(await handle.executeUpdate(challengeReturnedUpdate)).toMatchObject({
        accepted: true,
        decision: { status: 'pending' },
      });
      await handle.signal(processorEventSignal, { eventId: 'evt_1', type: 'payment_intent.amount_capturable_updated' });
      await waitFor('captured', async () => (await handle.query(stateQuery)).status === 'captured');
      expect(world.checkCalls(payment)).toHaveLength(2);
      expect(world.captureCalls(payment)).toHaveLength(1);
      await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_psp_later' }] });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
    });

    it('rejects the payment when the cardholder fails the processor challenge', async () => {
      const payment = world.payment('psp-3ds-failed', { connector: 'stripe', refundWindowMs: 60_000 });
      world.script(payment, {
        authorize: () => ({
          kind: 'challenge_required',
          pspReference: 'pi_fail',
          redirectUrl: 'https://psp.example/3ds/pi_fail',
        }),
        check: () => ({
          kind: 'declined',
          message: 'Authentication failed',
          pspReference: 'pi_fail',
          authenticationFailed: true,
        }),
      });
      const { handle } = await decide(payment);

      expect(await handle.executeUpdate(challengeReturnedUpdate)).toMatchObject({
        accepted: true,
        decision: { status: 'rejected_pw', message: '3DSecure authentication failed' },
      });
      expect(await handle.result()).toMatchObject({ status: 'rejected_pw' });
      expect(world.captureCalls(payment)).toHaveLength(0);
      expect(events(payment)).toEqual(['PAYMENT_REJECTED']);
    });

    it('asks the processor once more at the 3DS timeout, then cancels the authorization and the payment', async () => {
      const payment = world.payment('psp-3ds-timeout', { connector: 'stripe', refundWindowMs: 60_000 });
      const open = {
        kind: 'challenge_required',
        pspReference: 'pi_to',
        redirectUrl: 'https://psp.example/3ds/pi_to',
      } as const;
      world.script(payment, { authorize: () => open, check: () => open });
      const { handle, decidedAt } = await decide(payment);

      expect(await handle.result()).toMatchObject({ status: 'cancelled' });
      expect(Date.now() - decidedAt).toBeGreaterThanOrEqual(payment.input.threeDSTimeoutMs - 500);
      expect(world.checkCalls(payment)).toHaveLength(1);
      expect(world.voidCalls(payment)).toEqual([expect.objectContaining({ pspReference: 'pi_to' })]);
      expect(world.captureCalls(payment)).toHaveLength(0);
      expect(events(payment)).toEqual(['PAYMENT_CANCELLED']);
    });

    it('captures when the processor says at the 3DS timeout that the cardholder finished after all', async () => {
      const payment = world.payment('psp-3ds-late', { connector: 'stripe', refundWindowMs: 60_000 });
      world.script(payment, {
        authorize: () => ({
          kind: 'challenge_required',
          pspReference: 'pi_late',
          redirectUrl: 'https://psp.example/3ds/pi_late',
        }),
        check: () => ({ kind: 'approved', pspReference: 'pi_late' }),
      });
      const { handle } = await decide(payment);

      await waitFor('captured', async () => (await handle.query(stateQuery)).status === 'captured');
      expect(world.voidCalls(payment)).toHaveLength(0);
      expect(world.captureCalls(payment)).toHaveLength(1);
      await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_psp_late' }] });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
    });

    it('waits for a processor that is processing, and captures when its event says it decided', async () => {
      const payment = world.payment('psp-processing', { connector: 'stripe', refundWindowMs: 60_000 });
      let decided = false;
      world.script(payment, {
        authorize: () => ({ kind: 'processing', pspReference: 'pi_proc' }),
        check: () =>
          decided ? { kind: 'approved', pspReference: 'pi_proc' } : { kind: 'processing', pspReference: 'pi_proc' },
      });
      const started = await startPayment(env.client, taskQueue, payment.input, 1_000, { requestId: 'req-processing' });
      expect(started.kind).toBe('pending');
      const handle = handleOf(payment);
      await waitFor(
        'waiting for the processor',
        async () => (await handle.query(stateQuery)).waitingFor === 'processor',
      );
      expect(world.captureCalls(payment)).toHaveLength(0);

      decided = true;
      await handle.signal(processorEventSignal, { eventId: 'evt_2', type: 'payment_intent.amount_capturable_updated' });
      await waitFor('captured', async () => (await handle.query(stateQuery)).status === 'captured');
      expect(world.captureCalls(payment)).toEqual([expect.objectContaining({ pspReference: 'pi_proc' })]);
      await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_psp_processing' }] });
      expect(await handle.result()).toMatchObject({ status: 'captured' });
    });

    it('retries a failing webhook with the same delivery id, and decides the payment without waiting for it', async () => {
      const payment = world.payment('webhook-retry', { refundWindowMs: 500 });
      const merchantBack = gate();
      world.scriptWebhooks(payment, async (_input, attempt) => {
        if (attempt <= 2) throw new Error('webhook not delivered: HTTP 503');
        await merchantBack.pass();
      });
      const { decision, handle } = await decide(payment);

      // Captured and answered while no delivery has succeeded yet.
      expect(decision).toMatchObject({ status: 'captured' });
      await waitFor('the third attempt', () => merchantBack.reached === 1);
      expect(world.deliveries(payment)).toHaveLength(0);
      expect(await handle.query(stateQuery)).toMatchObject({ status: 'captured', webhooksPending: 1 });

      merchantBack.open();
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      const attempts = world.attempts(payment);
      expect(attempts.map((a) => [a.event, a.attempt, a.delivered])).toEqual([
        ['PAYMENT_CAPTURED', 1, false],
        ['PAYMENT_CAPTURED', 2, false],
        ['PAYMENT_CAPTURED', 3, true],
      ]);
      expect(new Set(attempts.map((a) => a.deliveryId)).size).toBe(1);
      expect(attempts.every((a) => a.statusAtAttempt === 'captured')).toBe(true);
      expect(world.deliveries(payment)).toHaveLength(1);
    });

    it('sends no webhook when the payment has no CallbackUrl', async () => {
      const payment = world.payment('no-callback', { callbackUrl: undefined, refundWindowMs: 500 });
      const { decision, handle } = await decide(payment);

      expect(decision.status).toBe('captured');
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect(world.attempts(payment)).toHaveLength(0);
    });
  });

  describe('workflow types', () => {
    const patchMarkers = async (handle: PaymentHandle) =>
      ((await handle.fetchHistory()).events ?? []).filter(
        (e) => e.markerRecordedEventAttributes?.markerName === 'core_patch',
      ).length;

    it('a payment of the first type, as started before paymentWorkflowV2, still runs to its end, asking its patches', async () => {
      const payment = world.payment('first-type');
      await env.client.workflow.start(
        'paymentWorkflow',
        paymentStartOptions(payment.workflowId, taskQueue, payment.input),
      );
      const handle = handleOf(payment);
      expect(await handle.result()).toEqual<PaymentOutcome>({ status: 'captured', message: 'Payment was successful' });
      expect(world.captureCalls(payment)).toHaveLength(1);
      expect(statusesWritten(payment)).toEqual(['authorized', 'captured']);
      expect(await patchMarkers(handle)).toBe(3);
    });

    it('a payment of the current type records no patch', async () => {
      const payment = world.payment('current-type');
      const { handle } = await decide(payment);
      expect(await handle.result()).toMatchObject({ status: 'captured' });
      expect((await handle.describe()).type).toBe(PAYMENT_WORKFLOW_TYPE);
      expect(await patchMarkers(handle)).toBe(0);
    });
  });

  describe('state query', () => {
    it('shows the masked PAN only, and what the payment waits for: 3ds during a challenge, then the refund window', async () => {
      const payment = world.payment('state', { threeDSRequested: true, refundWindowMs: 60_000 });
      const { handle } = await decide(payment);

      const challenged = await handle.query(stateQuery);
      expect(challenged).toEqual({
        status: 'pending',
        message: '3DSecure authentication required',
        waitingFor: '3ds',
        maskedPan: MASKED_PAN,
        amount: 1999,
        currency: 'EUR',
        webhooksPending: 0,
      });

      await handle.executeUpdate(challengeResultUpdate, { args: ['approved'] });
      await refundWindowOpen(handle);
      const captured = await handle.query(stateQuery);
      expect(captured).toMatchObject({
        status: 'captured',
        message: 'Payment was successful',
        waitingFor: 'refund-window',
        maskedPan: MASKED_PAN,
      });

      await handle.executeUpdate(refundUpdate, { args: [{ reference: 'ref_state' }] });
      await handle.result();
    });
  });
});
