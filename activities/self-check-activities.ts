import os from 'node:os';
import type { Db } from 'mongodb';
import type { SelfCheckInput, SelfCheckResult } from '../workflows/vocabulary';
import { selfChecks } from '../src/store/self-checks';

export function createSelfCheckActivities(deps: { db: Db }) {
  return {
    async recordSelfCheck(input: SelfCheckInput): Promise<SelfCheckResult> {
      const result: SelfCheckResult = {
        checkId: input.checkId,
        worker: `${os.hostname()}:${process.pid}`,
        writtenAt: new Date().toISOString(),
      };
      // An upsert keyed by the check id, so a retried activity writes the same single document.
      await selfChecks(deps.db).replaceOne({ _id: input.checkId }, result, { upsert: true });
      return result;
    },
  };
}

export type SelfCheckActivities = ReturnType<typeof createSelfCheckActivities>;
