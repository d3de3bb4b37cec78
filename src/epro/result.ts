import type { PaymentFacts, PaymentStatus, RefundStatus } from '../../workflows/vocabulary';
import { eproDate } from './envelope';
import { toMajorUnits } from './money';

/** The `Result` object of E-PRO answers and webhook bodies, formatted in one place. */
export interface EproResult {
  OperationType: 'payment' | 'refund';
  Status: PaymentStatus | RefundStatus;
  Tid: string;
  Reference: string;
  Amount: number;
  Currency: string;
  UserId: string;
  Message: string;
  Date: string;
  '3DSecure'?: 'yes' | 'no';
  '3DSecureUrl'?: string;
}

export function paymentResult(
  payment: PaymentFacts,
  state: { status: PaymentStatus; message: string; date: Date },
  threeDS?: { used: boolean; url?: string },
): EproResult {
  const result: EproResult = {
    OperationType: 'payment',
    Status: state.status,
    Tid: payment.tid,
    Reference: payment.reference,
    Amount: toMajorUnits(payment.amount, payment.currency),
    Currency: payment.currency,
    UserId: payment.uid,
    Message: state.message,
    Date: eproDate(state.date),
  };
  if (threeDS) {
    result['3DSecure'] = threeDS.used ? 'yes' : 'no';
    if (threeDS.url) result['3DSecureUrl'] = threeDS.url;
  }
  return result;
}

/** A refund answers with the refund's own Reference; Status `captured` means the refund went through. */
export function refundResult(
  payment: PaymentFacts,
  refund: { reference: string; status: RefundStatus; message: string; date: Date },
): EproResult {
  return {
    OperationType: 'refund',
    Status: refund.status,
    Tid: payment.tid,
    Reference: refund.reference,
    Amount: toMajorUnits(payment.amount, payment.currency),
    Currency: payment.currency,
    UserId: payment.uid,
    Message: refund.message,
    Date: eproDate(refund.date),
  };
}
