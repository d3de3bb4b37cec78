import type { Db } from 'mongodb';
import { randomBase62 } from '../src/crypto';
import type { MerchantDoc } from '../src/store/merchants';
import { type PaymentDoc, payments } from '../src/store/payment-records';
import { type ReferenceDoc, references } from '../src/store/references';
import { paymentKey, paymentWorkflowId } from '../workflows/vocabulary';

/**
 * Fills the store for the status scenario: captured payments of the bench merchant, shaped exactly like the
 * record the payment workflow writes (src/store/payment-records.ts), each with its Reference document. Status reads
 * only these two `_id`-keyed documents, so they are a fair store for it without running 100k workflows.
 */
export interface StoredPayment {
  tid: string;
  reference: string;
}

const BATCH = 1000;

function syntheticPayment(merchant: MerchantDoc, tid: string, reference: string, at: Date): PaymentDoc {
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
    status: 'captured',
    message: 'Payment was successful',
    threeDS: false,
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
  const started = Date.now();
  const tag = randomBase62(6);
  while (stored.length < target) {
    const count = Math.min(BATCH, target - stored.length);
    const batch: PaymentDoc[] = [];
    const refs: ReferenceDoc[] = [];
    const at = new Date();
    for (let i = 0; i < count; i++) {
      const tid = `seed-${tag}-${stored.length + i}`;
      const reference = `pr_${randomBase62(24)}`;
      batch.push(syntheticPayment(merchant, tid, reference, at));
      refs.push({
        _id: reference,
        kind: 'payment',
        paymentKey: paymentKey('test', merchant._id, tid),
        merchantId: merchant._id,
        mode: 'test',
      });
    }
    await payments(db).insertMany(batch, { ordered: false });
    await references(db).insertMany(refs, { ordered: false });
    for (const doc of batch) stored.push({ tid: doc.tid, reference: doc.reference });
  }
  return Date.now() - started;
}
