import { patched, proxyActivities } from '@temporalio/workflow';
import { type PaymentInput, type PaymentOutcome, paymentKey } from '../../../workflows/vocabulary';
import * as current from '../../../workflows/payment-workflow';

/**
 * Test-only: the same new fraud screening step as ./unversioned.ts, guarded by `patched()` as
 * docs/changing-the-workflow.md prescribes. Replaying a history recorded before the change, `patched()` answers
 * false (no marker in the history), the old path runs, and the replay succeeds.
 */
const { screenPayment } = proxyActivities<{ screenPayment(input: { paymentKey: string }): Promise<void> }>({
  startToCloseTimeout: '10 seconds',
});

// Both payment workflow types, each with the step in front (the committed histories hold both).
export async function paymentWorkflow(input: PaymentInput): Promise<PaymentOutcome> {
  if (patched('fraud-screening')) await screenPayment({ paymentKey: input.paymentKey });
  return current.paymentWorkflow(input);
}

export async function paymentWorkflowV2(input: PaymentInput): Promise<PaymentOutcome> {
  if (patched('fraud-screening')) await screenPayment({ paymentKey: input.paymentKey });
  return current.paymentWorkflowV2(input);
}
