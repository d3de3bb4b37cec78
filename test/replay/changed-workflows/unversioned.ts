import { proxyActivities } from '@temporalio/workflow';
import { type PaymentInput, type PaymentOutcome, paymentKey } from '../../../workflows/vocabulary';
import * as current from '../../../workflows/payment-workflow';

/**
 * Test-only: today's payment workflow plus a new first step — a fraud screening activity before anything else —
 * added the careless way, without `patched()`. Histories recorded before the change start differently, so their
 * replay must fail with a DeterminismViolationError (see docs/changing-the-workflow.md).
 */
const { screenPayment } = proxyActivities<{ screenPayment(input: { paymentKey: string }): Promise<void> }>({
  startToCloseTimeout: '10 seconds',
});

// Both payment workflow types, each with the step in front (the committed histories hold both).
export async function paymentWorkflow(input: PaymentInput): Promise<PaymentOutcome> {
  await screenPayment({ paymentKey: input.paymentKey });
  return current.paymentWorkflow(input);
}

export async function paymentWorkflowV2(input: PaymentInput): Promise<PaymentOutcome> {
  await screenPayment({ paymentKey: input.paymentKey });
  return current.paymentWorkflowV2(input);
}
