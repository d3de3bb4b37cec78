import Stripe from 'stripe';
import { StripeConnector } from '../../activities/psp/stripe/stripe-connector';
import { type StripeMock, startStripeMock } from '../../tools/servers';
import { RecordingProxy } from './recording-proxy';

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
  /**
   * The cardholder failed the challenge on Stripe's page: that attempt failed, and the intent waits for another
   * payment method, with the failure as its last error (the code Stripe documents for it).
   */
  failingAuthentication: {
    payment_intent: {
      status: 'requires_payment_method',
      capture_method: 'manual',
      next_action: null,
      last_payment_error: {
        type: 'invalid_request_error',
        code: 'payment_intent_authentication_failure',
        message: 'The provided PaymentMethod has failed authentication.',
      },
    },
  },
  /** Every refund failed: the card network could not return the money (the card was closed since). */
  refusingRefunds: {
    refund: { status: 'failed', failure_reason: 'expired_or_canceled_card' },
  },
} satisfies Record<string, Record<string, Record<string, unknown>>>;

export type StripeMockPlay = keyof typeof STRIPE_MOCK_PLAYS;

/** One stripe-mock per play, started together (about a second each); none is left running if one fails. */
export async function startStripeMockPlays<P extends StripeMockPlay>(
  dir: string,
  plays: readonly P[],
): Promise<Record<P, StripeMock>> {
  const started = await Promise.allSettled(
    plays.map((play) => startStripeMock({ dir, fixtures: STRIPE_MOCK_PLAYS[play], name: `stripe-mock-${play}` })),
  );
  const mocks = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) {
    await Promise.all(mocks.map((mock) => mock.stop()));
    throw failed.reason;
  }
  return Object.fromEntries(plays.map((play, i) => [play, mocks[i]!])) as Record<P, StripeMock>;
}

/** A Stripe connector whose calls go through a recording proxy (test/support/recording-proxy.ts) to `target`. */
export interface StripeBehindProxy {
  proxy: RecordingProxy;
  connector: StripeConnector;
}

/**
 * The Stripe connector as the worker builds it, pointed at a recording proxy in front of a stripe-mock. stripe-mock
 * takes only `sk_test_` keys, so a live account holds one here (`allowTestKeysForLive`).
 */
export async function stripeBehindProxy(target: URL, secretKey = 'sk_test_settleflow'): Promise<StripeBehindProxy> {
  const proxy = new RecordingProxy(target);
  const api = await proxy.start();
  const connector = new StripeConnector({
    credentials: () => Promise.resolve({ secretKey }),
    api,
    allowTestKeysForLive: true,
  });
  return { proxy, connector };
}
