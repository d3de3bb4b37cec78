import type { Db } from 'mongodb';
import type { Config } from '../src/config';
import type { WorkerMetrics } from '../src/metrics/worker-metrics';
import { createPaymentActivities } from './payment-activities';
import type { PspAdapter } from './psp';
import { createSelfCheckActivities } from './self-check-activities';
import { createWebhookActivities } from './webhook-activities';

/** Dependencies of every activity: passed in, so tests can hand plain objects instead of real services. */
export interface ActivityDeps {
  db: Db;
  config: Pick<Config, 'vaultKeys' | 'webhook'>;
  connectors: Record<string, PspAdapter>;
  /** The worker's metrics (docs/metrics.md); absent where activities run without a worker process (tests). */
  metrics?: WorkerMetrics;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createPaymentActivities({
      db: deps.db,
      vaultKeys: deps.config.vaultKeys,
      connectors: deps.connectors,
      metrics: deps.metrics,
    }),
    ...createWebhookActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
