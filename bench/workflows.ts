import {
  allHandlersFinished,
  condition,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';

/**
 * The engine-ceiling baseline: the payment workflow's Temporal shape with none of its work. Same start
 * (update-with-start, waiting for a decision update), same five activities in the same order (authorize,
 * project, capture, project — decision — release card; the store writes local, as there), same activity options.
 * What it achieves on this machine is what Temporal and the worker settings allow, so payments are judged against it.
 * Kept out of workflows/index.ts: it must never be in the production bundle.
 */
export const BENCH_TASK_QUEUE = 'settleflow-bench-engine';

export interface BenchDecision {
  status: 'captured';
  date: string;
}

export const benchDecisionUpdate = defineUpdate<BenchDecision>('decision');

export interface BenchActivities {
  authorizePayment(): Promise<void>;
  projectPayment(): Promise<void>;
  capturePayment(): Promise<void>;
  releaseCard(): Promise<void>;
}

// The payment workflow's activity options, so retries and timeouts cost the same in both.
const activities = proxyActivities<BenchActivities>({
  startToCloseTimeout: '15 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});
const localStore = proxyLocalActivities<BenchActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '500 milliseconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

export async function benchNoopWorkflow(): Promise<void> {
  let decision: BenchDecision | undefined = undefined;
  setHandler(benchDecisionUpdate, async () => {
    await condition(() => decision !== undefined);
    return decision!;
  });
  await activities.authorizePayment();
  await localStore.projectPayment();
  await activities.capturePayment();
  await localStore.projectPayment();
  decision = { status: 'captured', date: new Date().toISOString() };
  await localStore.releaseCard();
  // The update handler must answer before the run closes, as in the payment workflow.
  await condition(allHandlersFinished);
}
