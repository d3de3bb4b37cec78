import Stripe from 'stripe';

/**
 * The stripe-mock the global setup started (tools/servers.ts): Stripe's API simulator, which checks each request
 * against Stripe's API description and answers from its bundled fixtures, keeping nothing between requests.
 */
export function stripeMockUrl(): URL {
  const url = process.env.SETTLEFLOW_TEST_STRIPE_MOCK_URL;
  if (!url) throw new Error('SETTLEFLOW_TEST_STRIPE_MOCK_URL is not set: run this file in the integration project');
  return new URL(url);
}

/**
 * A client of the official library pointed at stripe-mock, which takes any key shaped `sk_test_<one word>` (with a
 * third `_` it answers 401).
 */
export function stripeMockClient(options: Stripe.StripeConfig = {}): Stripe {
  const url = stripeMockUrl();
  return new Stripe('sk_test_settleflow', {
    host: url.hostname,
    port: url.port,
    protocol: 'http',
    ...options,
  });
}

/**
 * Changes to stripe-mock's bundled fixtures (tools/servers.ts, `startStripeMock({ fixtures })`) that make it play
 * one kind of processor. Its bundled PaymentIntent is `requires_payment_method` (a declined attempt, with no
 * reason), whatever is sent. Each of these is a whole instance's answer to every PaymentIntent call: the status
 * is the fixture's, not a decision; only the request's own fields (amount, currency, metadata, …) come back as sent.
 */
export const STRIPE_MOCK_PLAYS = {
  /** Authorized: the money is held for a manual capture. */
  approving: {
    payment_intent: {
      status: 'requires_capture',
      capture_method: 'manual',
      last_payment_error: null,
      next_action: null,
    },
  },
  /** 3-D Secure on Stripe's page: the cardholder is to be redirected there. */
  challenging: {
    payment_intent: {
      status: 'requires_action',
      capture_method: 'manual',
      last_payment_error: null,
      next_action: {
        type: 'redirect_to_url',
        redirect_to_url: { url: 'https://stripe-3ds.example/challenge/pi', return_url: null },
      },
    },
  },
  /** Taken, decided later. */
  processing: {
    payment_intent: { status: 'processing', capture_method: 'manual', last_payment_error: null, next_action: null },
  },
} satisfies Record<string, Record<string, Record<string, unknown>>>;
