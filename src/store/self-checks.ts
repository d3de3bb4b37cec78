import type { Db } from 'mongodb';
import type { SelfCheckResult } from '../../workflows/messages';

export interface SelfCheckDoc extends SelfCheckResult {
  _id: string;
}

export const selfChecks = (db: Db) => db.collection<SelfCheckDoc>('self_checks');
