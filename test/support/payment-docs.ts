import { randomUUID } from 'node:crypto';
import type { PaymentDoc } from '../../src/store/payment-records';
import type { Owner } from '../../src/store/payment-listing';
import { paymentKey } from '../../workflows/vocabulary';

/**
 * A captured payment's record as the workflow writes it, for the store tests that put records in directly (the
 * listing queries on either FerretDB backend): `fields` overrides any of it.
 */
export function capturedPaymentDoc(
  owner: Owner,
  tid: string,
  createdAt: Date,
  fields: Partial<PaymentDoc> = {},
): PaymentDoc {
  return {
    _id: paymentKey(owner.mode, owner.merchantId, tid),
    mode: owner.mode,
    merchantId: owner.merchantId,
    tid,
    reference: `pr_${randomUUID().replace(/-/g, '')}`,
    uid: 'customer-42',
    amount: 1000,
    currency: 'EUR',
    maskedPan: '411111******1111',
    brand: 'visa',
    workflowId: `payment-${owner.mode}-${owner.merchantId}-${tid}`,
    status: 'captured',
    message: 'Payment captured',
    threeDS: false,
    seq: 0,
    createdAt,
    updatedAt: createdAt,
    ...fields,
  };
}
