import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  ChallengeAnswer,
  ChallengeResult,
  Decision,
  PaymentState,
  RefundAnswer,
  RefundRequest,
} from './vocabulary';

/**
 * How the API, the worker and the admin command talk to a running payment workflow: its updates and its query
 * (their payloads are in vocabulary.ts). Kept free of Node APIs so workflow code can import it.
 */
export const decisionUpdate = defineUpdate<Decision>('decision');
export const challengeResultUpdate = defineUpdate<ChallengeAnswer, [ChallengeResult]>('challengeResult');
export const refundUpdate = defineUpdate<RefundAnswer, [RefundRequest]>('refund');
export const stateQuery = defineQuery<PaymentState>('state');
