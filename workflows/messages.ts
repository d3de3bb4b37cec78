import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  ChallengeAnswer,
  ChallengeResult,
  Decision,
  PaymentState,
  ProcessorNudge,
  RefundAnswer,
  RefundRequest,
} from './vocabulary';

/**
 * How the API, the worker and the admin command talk to a running payment workflow: its updates and its query
 * (their payloads are in vocabulary.ts). Kept free of Node APIs so workflow code can import it.
 */
export const decisionUpdate = defineUpdate<Decision>('decision');
export const challengeResultUpdate = defineUpdate<ChallengeAnswer, [ChallengeResult]>('challengeResult');
/** The cardholder is back from the processor's challenge page (the return endpoint); answers once it is decided. */
export const challengeReturnedUpdate = defineUpdate<ChallengeAnswer>('challengeReturned');
export const processorEventSignal = defineSignal<[ProcessorNudge]>('processorEvent');
export const refundUpdate = defineUpdate<RefundAnswer, [RefundRequest]>('refund');
export const stateQuery = defineQuery<PaymentState>('state');
