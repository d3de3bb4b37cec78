import type { Db } from 'mongodb';
import type { PspAdapter } from './adapter';
import { SandboxSimulator } from './simulator';

export * from './adapter';

/**
 * The connectors this build knows. `simulator` serves every sandbox payment; a live account names its
 * connector in its settings (`--live-connector`), and only the simulator exists so far, for staging set-ups.
 */
export function createConnectors(db: Db, options: { simulatorLatencyMs?: number } = {}): Record<string, PspAdapter> {
  return { simulator: new SandboxSimulator(db, options.simulatorLatencyMs) };
}

export const KNOWN_CONNECTORS = ['simulator'] as const;
