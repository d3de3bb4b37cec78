import type { Db } from 'mongodb';
import type { PspAdapter } from './adapter';
import { SandboxSimulator } from './simulator';
import { withCallLog } from './simulator-calls';

export * from './adapter';

/**
 * The connectors this build knows. `simulator` serves every sandbox payment; a live account names its
 * connector in its settings (`--live-connector`), and only the simulator exists so far, for staging set-ups.
 * The simulator logs every call it receives (simulator-calls.ts), which the tests compare with its ledger.
 */
export function createConnectors(db: Db, options: { simulatorLatencyMs?: number } = {}): Record<string, PspAdapter> {
  return { simulator: withCallLog(new SandboxSimulator(db, options.simulatorLatencyMs), db) };
}

export const KNOWN_CONNECTORS = ['simulator'] as const;
