import type { Db } from 'mongodb';
import type { Principal } from '../../auth/verifier';
import { containsCardNumber } from '../../epro/card-like';
import { errors } from '../../epro/errors';
import { LOOKUP_FIELDS } from '../../epro/fields';
import { INVALID, normalizeFields } from '../../epro/normalize';
import { findPayment, type PaymentDoc } from '../../store/payment-records';
import { findReference } from '../../store/references';
import { paymentKey } from '../../../workflows/vocabulary';

/**
 * Finds the transaction a refund or status request names, for this merchant and mode only: by Reference when
 * one is sent (it wins over Tid), else by Tid. Two `_id` reads at most. Anything else's transaction is 102.
 */
export async function findTransaction(
  db: Db,
  principal: Principal,
  body: Record<string, unknown>,
): Promise<PaymentDoc> {
  const fields = normalizeFields(body, LOOKUP_FIELDS);
  if (fields.Reference === INVALID || fields.Tid === INVALID)
    throw errors.invalidRequest('Tid and Reference must be strings');
  if (fields.Reference === undefined && fields.Tid === undefined)
    throw errors.invalidRequest('Tid or Reference is required');
  // No payment can carry a card number as its Tid (it is refused at payment time), and no Reference holds one: such
  // an identifier is not found, without being sent to the database, whose logs could keep it (docs/fields.md).
  if (containsCardNumber(fields.Reference ?? fields.Tid!)) throw errors.notFound();
  const owner = { merchantId: principal.merchant._id, mode: principal.mode };

  if (fields.Reference !== undefined) {
    const ref = await findReference(db, fields.Reference, owner);
    const payment = ref && (await findPayment(db, ref.paymentKey));
    if (!ref || !payment) throw errors.notFound();
    return payment;
  }
  const payment =
    fields.Tid!.length <= 64 ? await findPayment(db, paymentKey(owner.mode, owner.merchantId, fields.Tid!)) : null;
  if (!payment) throw errors.notFound();
  return payment;
}
