import type { AuthorizeRequest, MovementRequest } from '../../activities/psp';
import type { ProcessorAccount } from '../../workflows/vocabulary';

/** A card Stripe's test mode approves, and a CVV: what the connector's tests hand it from the "vault". */
export const STRIPE_TEST_PAN = '4242424242424242';
export const STRIPE_TEST_CVV = '737';

export const LIVE_ACCOUNT: ProcessorAccount = { merchantId: 'mer_abc', mode: 'live' };

/** An authorization as the activity hands it to the Stripe connector, with every customer detail a merchant may send. */
export function stripeAuthorizeRequest(key: string, overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest {
  return {
    idempotencyKey: key,
    amount: 1999,
    currency: 'EUR',
    card: { number: STRIPE_TEST_PAN, month: 12, year: 2030, cvv: STRIPE_TEST_CVV },
    authenticated: false,
    customer: {
      email: 'ada@example.com',
      description: 'Order 42',
      customerId: 'cust-7',
      cardOwner: 'Ada Lovelace',
      firstname: 'Ada',
      lastname: 'Lovelace',
      address: '12 Analytical Row',
      zipCode: '75001',
      city: 'Paris',
      country: 'FRA',
      phone: '+33 1 23 45 67 89',
    },
    account: LIVE_ACCOUNT,
    labels: { workflowId: key, reference: 'pay_ref1', tid: 'T1' },
    returnUrl: 'https://settleflow.example/v1/3ds/pay_ref1/return',
    ...overrides,
  };
}

/** A capture, void or refund of `pi_123` as the activity hands it to the connector. */
export function stripeMovement(key: string, overrides: Partial<MovementRequest> = {}): MovementRequest {
  return {
    idempotencyKey: key,
    pspReference: 'pi_123',
    amount: 1999,
    currency: 'EUR',
    account: LIVE_ACCOUNT,
    ...overrides,
  };
}
