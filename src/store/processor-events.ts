import type { Db } from 'mongodb';
import type { Mode } from '../../workflows/vocabulary';
import { isDuplicateKeyError } from './payment-records';

/**
 * Every verified processor event, once, keyed `{connector}:{eventId}`: the first insert wins, so a replayed event
 * (processors deliver at least once) is seen as one and changes nothing. What ops read about refunds and
 * disputes made at the processor (docs/connectors.md). Ids and the event type only: never the event's payload.
 */
export interface ProcessorEventDoc {
  _id: string;
  connector: string;
  eventId: string;
  type: string;
  /** The processor's authorization the event is about, when it names one. */
  pspReference?: string;
  /** The payment it was routed to; absent when no payment of SettleFlow's has that reference. */
  paymentKey?: string;
  merchantId?: string;
  mode?: Mode;
  receivedAt: Date;
}

export const processorEvents = (db: Db) => db.collection<ProcessorEventDoc>('processor_events');

/** Records the event; false when it was already recorded (a replay). */
export async function recordProcessorEvent(db: Db, doc: Omit<ProcessorEventDoc, '_id'>): Promise<boolean> {
  try {
    await processorEvents(db).insertOne({ _id: `${doc.connector}:${doc.eventId}`, ...doc });
    return true;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}
