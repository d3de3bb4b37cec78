import type { CustomerDetails } from '../../workflows/vocabulary';
import type { PaymentRequest } from './payment-request';

/**
 * The customer and order fields of a validated payment, for the processor request and the payment record
 * (docs/fields.md). Fields that were not sent are left out rather than stored as null. Never card data: the
 * cardholder's name is kept, the number, expiry and CVV are not.
 */
export function customerDetails(request: PaymentRequest): CustomerDetails {
  const details: CustomerDetails = {
    email: request.email,
    description: request.description,
    customerId: request.customerId,
    cardOwner: request.card.owner,
    ...request.billing,
  };
  return Object.fromEntries(
    Object.entries(details).filter(([, value]) => value !== undefined),
  ) as unknown as CustomerDetails;
}
