import type { Db } from 'mongodb';
import type { SelfCheckResult } from '../../workflows/vocabulary';

export interface SelfCheckDoc extends SelfCheckResult {
  _id: string;
}

export const selfChecks = (db: Db) => db.collection<SelfCheckDoc>('self_checks');
