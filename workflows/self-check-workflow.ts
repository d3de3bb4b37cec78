import { proxyActivities } from '@temporalio/workflow';
import type { SelfCheckActivities } from '../activities/self-check-activities';
import type { SelfCheckInput, SelfCheckResult } from './vocabulary';

const { recordSelfCheck } = proxyActivities<SelfCheckActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 5 },
});

/**
 * Proves the whole chain end to end (client → Temporal → worker → activity → MongoDB) for `settleflow doctor`
 * and the platform test: the activity writes a document keyed by the check id and reports who wrote it.
 */
export async function selfCheckWorkflow(input: SelfCheckInput): Promise<SelfCheckResult> {
  return await recordSelfCheck(input);
}
