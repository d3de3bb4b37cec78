import type { Db } from 'mongodb';
import type { Config } from '../src/config';
import { createPaymentActivities } from './payment-activities';
import type { PspAdapter } from './psp';
import { createSelfCheckActivities } from './self-check-activities';
import { createWebhookActivities } from './webhook-activities';

/** Dependencies of every activity: passed in, so tests can hand plain objects instead of real services. */
export interface ActivityDeps {
  db: Db;
  config: Pick<Config, 'vaultKeys' | 'webhook'>;
  connectors: Record<string, PspAdapter>;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
    ...createPaymentActivities({ db: deps.db, vaultKeys: deps.config.vaultKeys, connectors: deps.connectors }),
    ...createWebhookActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
