import type { Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { dropStaleDigests, markStarted, pendingStarts, releaseReservation } from '../store/payments';
import { deleteCard } from '../store/vault';
import { workflowExists } from './payments';

export interface SweepResult {
  adopted: number;
  released: number;
  /** Request digests removed by the one-off cleanup (first sweep of a process only). */
  digestsDropped: number;
}

/** Databases whose stale request digests this process has already removed: the cleanup runs once, not every tick. */
const digestsCleaned = new WeakSet<Db>();

/**
 * Settles reservations whose request ended without knowing if the workflow started (the merchant got code 9 or
 * dropped the connection) and that no retry resumed. If Temporal has the workflow, the payment is real: it is
 * marked started, and a retry gets 104 while status tells the real state. If not, the Tid is released and the
 * card deleted. It never starts a payment itself: a merchant told "9" may already have paid with another Tid.
 * Its first run in a process also removes request digests left by older versions (dropStaleDigests).
 */
export async function settleStrandedReservations(db: Db, client: Client, olderThanMs: number, now = Date.now()): Promise<SweepResult> {
  const stale = await pendingStarts(db).find({ attemptAt: { $lt: new Date(now - olderThanMs) } }).limit(200).toArray();
  const result: SweepResult = { adopted: 0, released: 0, digestsDropped: 0 };
  if (!digestsCleaned.has(db)) {
    result.digestsDropped = await dropStaleDigests(db, now);
    digestsCleaned.add(db);
  }
  for (const pending of stale) {
    if (await workflowExists(client, pending.workflowId)) {
      await markStarted(db, pending._id);
      result.adopted++;
    } else if (await releaseReservation(db, { key: pending._id, reference: pending.reference, vaultToken: pending.vaultToken })) {
      await deleteCard(db, pending.vaultToken);
      result.released++;
    }
  }
  return result;
}
