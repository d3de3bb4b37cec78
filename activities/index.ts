import type { Db } from 'mongodb';
import { createSelfCheckActivities } from './self-check';

/** Dependencies of every activity: passed in, so tests can hand plain objects instead of real services. */
export interface ActivityDeps {
  db: Db;
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSelfCheckActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
