import type { Db } from 'mongodb';
import type { PspAdapter } from './adapter';
import { SandboxSimulator } from './simulator';
import { withCallLog } from './simulator-calls';
import { StripeConnector, type StripeConnectorOptions } from './stripe/stripe-connector';

export * from './adapter';
export type { StripeConnectorOptions, StripeCredentials } from './stripe/stripe-connector';

export interface ConnectorOptions {
  simulatorLatencyMs?: number;
  /**
   * The Stripe connector, when the worker can find merchants' Stripe keys (`credentials`) and, for the tests,
   * an API other than Stripe's (`api`: stripe-mock). Absent: no `stripe` connector, and a payment naming it fails
   * as an unknown connector.
   */
  stripe?: StripeConnectorOptions;
}

/**
 * The connectors this build knows. `simulator` serves every sandbox payment; a live account names its
 * connector in its settings (`--live-connector`). The simulator logs every call it receives (simulator-calls.ts),
 * which the tests compare with its ledger. `stripe` calls each merchant's own Stripe account.
 */
export function createConnectors(db: Db, options: ConnectorOptions = {}): Record<string, PspAdapter> {
  const connectors: Record<string, PspAdapter> = {
    simulator: withCallLog(new SandboxSimulator(db, options.simulatorLatencyMs), db),
  };
  if (options.stripe) connectors.stripe = new StripeConnector(options.stripe);
  return connectors;
}

export const KNOWN_CONNECTORS = ['simulator', 'stripe'] as const;
