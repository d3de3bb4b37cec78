import type { Db } from 'mongodb';
import { randomBase62 } from '../src/crypto';
import type { MerchantDoc } from '../src/store/merchants';
import { listingDocs, paymentListing } from '../src/store/payment-listing';
import { type PaymentDoc, payments } from '../src/store/payment-records';
import { type ReferenceDoc, references } from '../src/store/references';
import { paymentKey, paymentWorkflowId } from '../workflows/vocabulary';

/**
 * Fills the store for the status scenario and the dashboard queries: payments of the bench merchant, shaped exactly
 * like the record the payment workflow writes (src/store/payment-records.ts), each with its Reference document and
 * its two listing documents (src/store/payment-listing.ts), as the workflow's first step writes them. Status reads
 * only the two `_id`-keyed documents, the dashboard lists the listing ranges, so they are a fair store for both
 * without running 100k workflows. One payment a minute, in insertion order (the newest last); three in four
 * captured, the rest failed, pending or cancelled; one in seven with 3-D Secure; about ten per Uid at 100k.
 */
export interface StoredPayment {
  tid: string;
  reference: string;
  uid: string;
  status: PaymentDoc['status'];
  threeDS: boolean;
}

/** The first synthetic payment's date; the n-th is n minutes later. */
export const POPULATE_EPOCH = Date.UTC(2026, 0, 1);

const STATUS_CYCLE: PaymentDoc['status'][] = [
  ...Array<PaymentDoc['status']>(15).fill('captured'),
  'failed',
  'failed',
  'failed',
  'pending',
  'cancelled',
];

const BATCH = 1000;

function syntheticPayment(merchant: MerchantDoc, tid: string, reference: string, n: number): PaymentDoc {
  const at = new Date(POPULATE_EPOCH + n * 60_000);
  const key = paymentKey('test', merchant._id, tid);
  const amount = 100 + Math.floor(Math.random() * 99_900);
  return {
    _id: key,
    mode: 'test',
    merchantId: merchant._id,
    tid,
    reference,
    uid: `customer-${Math.floor(Math.random() * 10_000)}`,
    amount,
    currency: merchant.currency,
    maskedPan: '411111******1111',
    brand: 'visa',
    workflowId: paymentWorkflowId('test', merchant._id, tid),
    status: STATUS_CYCLE[n % STATUS_CYCLE.length]!,
    message: 'Payment was successful',
    threeDS: n % 7 === 0,
    seq: 2,
    createdAt: at,
    updatedAt: at,
  };
}

/** Adds synthetic payments until `stored` holds `target`; returns how long the inserts took (ms). */
export async function populateTo(
  db: Db,
  merchant: MerchantDoc,
  stored: StoredPayment[],
  target: number,
): Promise<number> {
  return (await populateEach([db], merchant, stored, target))[0]!;
}

/**
 * The same synthetic payments added to every one of `dbs` (stores compared side by side hold the same documents);
 * returns how long the inserts took in each (ms).
 */
export async function populateEach(
  dbs: Db[],
  merchant: MerchantDoc,
  stored: StoredPayment[],
  target: number,
): Promise<number[]> {
  const spent = dbs.map(() => 0);
  const tag = randomBase62(6);
  while (stored.length < target) {
    const count = Math.min(BATCH, target - stored.length);
    const batch: PaymentDoc[] = [];
    const refs: ReferenceDoc[] = [];
    for (let i = 0; i < count; i++) {
      const tid = `seed-${tag}-${stored.length + i}`;
      const reference = `pr_${randomBase62(24)}`;
      batch.push(syntheticPayment(merchant, tid, reference, stored.length + i));
      refs.push({
        _id: reference,
        kind: 'payment',
        paymentKey: paymentKey('test', merchant._id, tid),
        merchantId: merchant._id,
        mode: 'test',
      });
    }
    const listing = batch.flatMap(listingDocs);
    for (const [i, db] of dbs.entries()) {
      const started = Date.now();
      // Every document has its `_id` already: the driver inserts them as they are, the same into each store.
      await payments(db).insertMany(batch, { ordered: false });
      await references(db).insertMany(refs, { ordered: false });
      await paymentListing(db).insertMany(listing, { ordered: false });
      spent[i]! += Date.now() - started;
    }
    for (const doc of batch)
      stored.push({ tid: doc.tid, reference: doc.reference, uid: doc.uid, status: doc.status, threeDS: doc.threeDS });
  }
  return spent;
}
