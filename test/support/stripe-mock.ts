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
