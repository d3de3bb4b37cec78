import path from 'node:path';
import type Stripe from 'stripe';
import { loadConfig } from '../../../src/config';
import type { StripeMock } from '../../../tools/servers';
import type { Fault, RecordedCall } from '../../support/recording-proxy';
import {
  type StripeBehindProxy,
  type StripeMockPlay,
  startStripeMockPlays,
  stripeBehindProxy,
} from '../../support/stripe-mock';
import type { ConformanceDriver, Operation, PaymentAtProcessor } from '../conformance';

/**
 * The Stripe connector (activities/psp/stripe) in the conformance suite, through the official library, a recording
 * proxy (test/support/recording-proxy.ts) and stripe-mock, Stripe's API simulator, which checks every request
 * against Stripe's API description. stripe-mock decides nothing and keeps nothing: one instance per play answers
 * every call from its fixtures (test/support/stripe-mock.ts, STRIPE_MOCK_PLAYS), and the proxy sends each scenario
 * to the instance that plays it. What stripe-mock cannot play, the proxy answers in its place, as Stripe documents
 * it answers: card declines (HTTP 402, a `card_error` naming the PaymentIntent), a capture of an authorization
 * that expired, 5xx and 429 faults, and answers lost after Stripe acted. The cards are Stripe's own test cards for
 * each case, so the same plays would hold against Stripe's test mode.
 *
 * What this cannot show: that Stripe performs a keyed request once. stripe-mock gives every answer a fresh id and
 * keeps no record, so the proof here is that every try carried one and the same Idempotency-Key, the key Stripe
 * answers repeats by.
 */

const PLAYS = ['approving', 'challenging', 'processing', 'failingAuthentication', 'refusingRefunds'] as const;

/** The proxy lets the PaymentMethod through: in an authorization, faults are for the PaymentIntent after it. */
const PAYMENT_METHOD_PASSES: Fault = { kind: 'pass' };
const DROPPED: Fault = { kind: 'drop' };

let declines = 0;

/** Stripe's answer to a confirmation the issuer declined: HTTP 402, the card error and the failed PaymentIntent. */
function cardDeclined(error: Partial<Stripe.StripeRawError>): Fault {
  const id = `pi_conformancedeclined${++declines}`;
  const lastError = { type: 'card_error', ...error };
  return {
    kind: 'answer',
    status: 402,
    body: {
      error: {
        ...lastError,
        payment_intent: {
          id,
          object: 'payment_intent',
          status: 'requires_payment_method',
          capture_method: 'manual',
          last_payment_error: lastError,
        },
      },
    },
  };
}

/** Stripe's answer to a capture of an authorization it cancelled when it expired: the intent is `canceled`. */
const authorizationExpired: Fault = {
  kind: 'answer',
  status: 400,
  body: {
    error: {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: 'This PaymentIntent could not be captured because it has a status of canceled.',
      payment_intent: {
        id: 'pi_conformanceexpired',
        object: 'payment_intent',
        status: 'canceled',
        cancellation_reason: 'automatic',
      },
    },
  },
};

const unavailable: Fault = {
  kind: 'answer',
  status: 503,
  body: { error: { type: 'api_error', message: 'An unknown error occurred.' } },
};
const rateLimited: Fault = {
  kind: 'answer',
  status: 429,
  body: { error: { type: 'invalid_request_error', code: 'rate_limit', message: 'Too many requests.' } },
};

/** Which recorded calls are one operation of one payment, found by what they are about, not by their key. */
function isCall(operation: Operation, payment: PaymentAtProcessor, call: RecordedCall): boolean {
  if (call.method !== 'POST') return false;
  const intent = `/v1/payment_intents/${payment.pspReference}`;
  switch (operation) {
    case 'authorize':
      return (
        call.path === '/v1/payment_intents' && call.params['metadata[settleflow_workflow_id]'] === payment.workflowId
      );
    case 'capture':
      return call.path === `${intent}/capture`;
    case 'void':
      return call.path === `${intent}/cancel`;
    case 'refund':
      return call.path === '/v1/refunds' && call.params.payment_intent === payment.pspReference;
  }
}

export function stripeDriver(): ConformanceDriver {
  let mocks: Record<StripeMockPlay, StripeMock> | undefined;
  let stripe: StripeBehindProxy | undefined;
  const proxy = () => stripe!.proxy;
  const playing = (play: StripeMockPlay) => proxy().retarget(new URL(mocks![play].url));
  const declining = (error: Partial<Stripe.StripeRawError>) => () =>
    proxy().inject(PAYMENT_METHOD_PASSES, cardDeclined(error));

  return {
    // A live merchant: what the connector is for. stripe-mock takes test keys only (stripeBehindProxy).
    mode: 'live',
    async start() {
      const dir = path.join(loadConfig(process.env).dataDir, `conformance-${process.pid}`);
      mocks = await startStripeMockPlays(dir, PLAYS);
      stripe = await stripeBehindProxy(new URL(mocks.approving.url));
      return stripe.connector;
    },
    async stop() {
      await stripe?.proxy.stop();
      await Promise.all(Object.values(mocks ?? {}).map((mock) => mock.stop()));
    },
    reset() {
      proxy().clearFaults();
      playing('approving');
    },
    plays: {
      approve: { card: '4242424242424242' },
      declines: {
        generic: {
          card: '4000000000000002',
          arrange: declining({
            code: 'card_declined',
            decline_code: 'generic_decline',
            message: 'Your card was declined.',
          }),
        },
        'insufficient funds': {
          card: '4000000000009995',
          arrange: declining({
            code: 'card_declined',
            decline_code: 'insufficient_funds',
            message: 'Your card has insufficient funds.',
          }),
        },
        'expired card': {
          card: '4000000000000069',
          arrange: declining({ code: 'expired_card', message: 'Your card has expired.' }),
        },
      },
      // A 503, then a 429 on the retry, then the PaymentIntent goes through.
      transientFault: {
        card: '4242424242424242',
        arrange: () => proxy().inject(PAYMENT_METHOD_PASSES, unavailable, PAYMENT_METHOD_PASSES, rateLimited),
      },
      // Stripe's card that always asks for 3-D Secure; the cardholder completes it on Stripe's page.
      challengeApproved: {
        card: '4000002760003184',
        arrange: () => playing('challenging'),
        complete: () => playing('approving'),
      },
      challengeDeclined: {
        card: '4000002760003184',
        arrange: () => playing('challenging'),
        complete: () => playing('failingAuthentication'),
        authenticationFailed: true,
      },
      processing: {
        card: '4242424242424242',
        arrange: () => playing('processing'),
        decide: () => playing('approving'),
      },
      captureRefused: { arrange: () => proxy().inject(authorizationExpired) },
      refundRefused: { arrange: () => playing('refusingRefunds') },
      // The call reaches stripe-mock and its answer is cut, twice: the library tries a closed connection once more
      // by itself (with the same key), then the connector throws.
      lostAnswer: {
        lose(operation) {
          if (operation === 'authorize') proxy().inject(PAYMENT_METHOD_PASSES, DROPPED, DROPPED);
          else proxy().inject(DROPPED, DROPPED);
        },
      },
    },
    seen(operation, payment) {
      const calls = proxy().calls.filter((call) => isCall(operation, payment, call));
      return Promise.resolve({ calls: calls.length, keys: calls.map((call) => call.idempotencyKey) });
    },
    performed: {
      unsupported:
        'stripe-mock keeps no record of what it did, so only the identical Idempotency-Key on every try (checked in each scenario) shows that Stripe would do it once',
    },
  };
}
