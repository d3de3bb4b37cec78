import { ApplicationFailure } from '@temporalio/common';
import fc from 'fast-check';
import Stripe from 'stripe';
import { type AuthorizeRequest, type MovementRequest, PspUnavailableError } from '../../activities/psp/adapter';
import {
  alpha2Country,
  authorizeError,
  authorizeOutcome,
  captureError,
  captureOutcome,
  captureParams,
  classifyStripeError,
  declineMessage,
  paymentIntentParams,
  paymentMethodParams,
  refundError,
  refundOutcome,
  refundParams,
  scrub,
  stripeIdempotencyKey,
  voidError,
  voidOutcome,
} from '../../activities/psp/stripe/transformers';
import {
  FAILURE_PROCESSOR_CREDENTIALS,
  FAILURE_PROCESSOR_REJECTED_REQUEST,
  FAILURE_PROCESSOR_UNEXPECTED_ANSWER,
  NON_RETRYABLE_FAILURES,
} from '../../workflows/vocabulary';
import { findCardData } from '../support/card-scan';
import { STRIPE_TEST_CVV, STRIPE_TEST_PAN, stripeAuthorizeRequest, stripeMovement } from '../support/stripe-requests';

/**
 * The Stripe connector's transformer layer (activities/psp/stripe/transformers.ts), branch by branch: the requests
 * it builds, how each PaymentIntent and Refund status reads, and how each of Stripe's errors is handled. The
 * objects are typed with the library's own types, and the errors are built by the library's own factory
 * (`StripeError.generate`, which its request sender calls with the parsed error body, its headers and HTTP
 * status), so a change of the library's classes or fields fails here. stripe-mock cannot play these branches
 * (it answers fixtures, never a decline or a 5xx): test/platform/stripe-connector.test.ts proves the calls.
 */

const PAN = STRIPE_TEST_PAN;
const CVV = STRIPE_TEST_CVV;
const authorizeRequest = (overrides: Partial<AuthorizeRequest> = {}): AuthorizeRequest =>
  stripeAuthorizeRequest('payment-live-mer_abc-T1', overrides);
const movement: MovementRequest = stripeMovement('payment-live-mer_abc-T1');

/** A PaymentIntent as Stripe answers it, with only the fields the transformers read set. */
function intent(fields: Partial<Stripe.PaymentIntent>): Stripe.PaymentIntent {
  return {
    id: 'pi_123',
    object: 'payment_intent',
    amount: 1999,
    currency: 'eur',
    capture_method: 'manual',
    status: 'requires_capture',
    next_action: null,
    last_payment_error: null,
    cancellation_reason: null,
    ...fields,
  } as Stripe.PaymentIntent;
}

function refund(fields: Partial<Stripe.Refund>): Stripe.Refund {
  return {
    id: 're_123',
    object: 'refund',
    amount: 1999,
    status: 'succeeded',
    failure_reason: null,
    ...fields,
  } as Stripe.Refund;
}

/** An error as the library builds it from an HTTP answer: the body's `error`, plus status, headers, request id. */
function stripeError(
  statusCode: number,
  error: Partial<Stripe.StripeRawError>,
  headers: Record<string, string> = {},
): Stripe.errors.StripeError {
  return Stripe.errors.StripeError.generate({ ...error, statusCode, headers, requestId: 'req_abc' });
}

/** As the library builds it when no answer came (its request sender, on a socket error or its own timeout). */
const connectionError = (message: string) =>
  new Stripe.errors.StripeConnectionError({ message, detail: new Error('ECONNRESET') });

const cardError = (decline_code: string | undefined, code = 'card_declined', payment_intent?: Stripe.PaymentIntent) =>
  stripeError(402, { type: 'card_error', code, decline_code, message: 'Your card was declined.', payment_intent });

/** What a call threw: its class, Temporal type and retryability, and its message. */
function thrown(call: () => unknown): { error: unknown; message: string } {
  try {
    call();
  } catch (error) {
    return { error, message: (error as Error).message };
  }
  throw new Error('expected the call to throw');
}

function expectNonRetryable(call: () => unknown, type: string): string {
  const { error, message } = thrown(call);
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({ type, nonRetryable: true });
  expect(NON_RETRYABLE_FAILURES).toContain(type);
  return message;
}

function expectRetried(call: () => unknown): string {
  const { error, message } = thrown(call);
  expect(error).toBeInstanceOf(PspUnavailableError);
  return message;
}

describe('requests to Stripe', () => {
  it('sends the card, and the billing details the merchant sent, as a card PaymentMethod', () => {
    expect(paymentMethodParams(authorizeRequest())).toEqual({
      type: 'card',
      card: { number: PAN, exp_month: 12, exp_year: 2030, cvc: CVV },
      billing_details: {
        name: 'Ada Lovelace',
        email: 'ada@example.com',
        phone: '+33 1 23 45 67 89',
        address: { line1: '12 Analytical Row', postal_code: '75001', city: 'Paris', country: 'FR' },
      },
    });
  });

  it('names the cardholder from first and last name without a CardOwner, and sends no CVC once it is gone', () => {
    const params = paymentMethodParams(
      authorizeRequest({
        card: { number: PAN, month: 1, year: 2031 },
        customer: { email: 'ada@example.com', firstname: 'Ada', lastname: 'Lovelace' },
      }),
    );
    expect(params.card).toEqual({ number: PAN, exp_month: 1, exp_year: 2031 });
    expect(params.billing_details).toEqual({ name: 'Ada Lovelace', email: 'ada@example.com' });
    expect(paymentMethodParams(authorizeRequest({ customer: undefined }))).not.toHaveProperty('billing_details');
  });

  it('turns the alpha-3 Country into the alpha-2 code Stripe wants, and leaves out one that has none', () => {
    expect(alpha2Country('DEU')).toBe('DE');
    expect(alpha2Country('usa')).toBe('US');
    expect(alpha2Country('GBR')).toBe('GB');
    expect(alpha2Country('XKX')).toBeUndefined();
    expect(alpha2Country(undefined)).toBeUndefined();
    const params = paymentMethodParams(authorizeRequest({ customer: { email: 'a@b.example', country: 'XKX' } }));
    expect(params.billing_details).toEqual({ email: 'a@b.example' });
  });

  it('authorizes with a confirmed, manual-capture PaymentIntent that carries the payment labels', () => {
    expect(paymentIntentParams(authorizeRequest(), 'pm_1')).toEqual({
      amount: 1999,
      currency: 'eur',
      payment_method: 'pm_1',
      capture_method: 'manual',
      confirm: true,
      return_url: 'https://settleflow.example/v1/3ds/pay_ref1/return',
      description: 'Order 42',
      metadata: {
        settleflow_workflow_id: 'payment-live-mer_abc-T1',
        settleflow_reference: 'pay_ref1',
        settleflow_tid: 'T1',
        settleflow_merchant: 'mer_abc',
        settleflow_mode: 'live',
        settleflow_customer_id: 'cust-7',
      },
    });
  });

  it('asks Stripe to challenge on 3DS=yes, and to decline rather than challenge with nowhere to come back to', () => {
    expect(paymentIntentParams(authorizeRequest({ threeDSRequested: true }), 'pm_1')).toMatchObject({
      payment_method_options: { card: { request_three_d_secure: 'challenge' } },
    });
    expect(paymentIntentParams(authorizeRequest(), 'pm_1')).not.toHaveProperty('payment_method_options');
    const noReturn = paymentIntentParams(authorizeRequest({ returnUrl: undefined }), 'pm_1');
    expect(noReturn).toMatchObject({
      error_on_requires_action: true,
      automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
    });
    expect(noReturn).not.toHaveProperty('return_url');
  });

  it('captures and refunds exactly the amount asked for', () => {
    expect(captureParams(movement)).toEqual({ amount_to_capture: 1999 });
    expect(refundParams({ ...movement, amount: 500 })).toEqual({ payment_intent: 'pi_123', amount: 500 });
  });

  it('keys every Stripe call by the request key and the call: the same call, the same key; two calls, two keys', () => {
    const key = 'payment-live-mer_abc-T1';
    const steps = ['payment_method', 'payment_intent', 'capture', 'cancel', 'refund'] as const;
    const keys = steps.map((step) => stripeIdempotencyKey(key, step));
    expect(new Set(keys).size).toBe(steps.length);
    expect(stripeIdempotencyKey(key, 'capture')).toBe(stripeIdempotencyKey(key, 'capture'));
    expect(stripeIdempotencyKey(`${key}:void`, 'cancel')).toBe('payment-live-mer_abc-T1:void:cancel');
    // The longest workflow id (a 64-character Tid) with the longest step stays under Stripe's 255 characters.
    const longest = `payment-live-mer_${'x'.repeat(16)}-${'t'.repeat(64)}:refund:ref_${'r'.repeat(32)}`;
    expect(stripeIdempotencyKey(longest, 'payment_method').length).toBeLessThan(255);
  });
});

describe('PaymentIntent statuses', () => {
  it('requires_capture: approved, the intent is the reference to capture', () => {
    expect(authorizeOutcome(intent({ status: 'requires_capture' }))).toEqual({
      kind: 'approved',
      pspReference: 'pi_123',
    });
  });

  it('succeeded: captured already, so it was approved (the capture then reads it as captured)', () => {
    expect(authorizeOutcome(intent({ status: 'succeeded' }))).toEqual({ kind: 'approved', pspReference: 'pi_123' });
  });

  it("requires_action with a redirect: a challenge on Stripe's page", () => {
    const challenged = intent({
      status: 'requires_action',
      next_action: {
        type: 'redirect_to_url',
        redirect_to_url: { url: 'https://hooks.stripe.example/3ds/abc', return_url: 'https://settleflow.example/r' },
      },
    });
    expect(authorizeOutcome(challenged)).toEqual({
      kind: 'challenge_required',
      pspReference: 'pi_123',
      redirectUrl: 'https://hooks.stripe.example/3ds/abc',
    });
  });

  it('requires_action without a redirect (a confirmation without a return URL would give that): for ops', () => {
    const sdk = intent({ status: 'requires_action', next_action: { type: 'use_stripe_sdk' } });
    const message = expectNonRetryable(() => authorizeOutcome(sdk), FAILURE_PROCESSOR_UNEXPECTED_ANSWER);
    expect(message).toContain('use_stripe_sdk');
  });

  it('processing: the payment waits for Stripe', () => {
    expect(authorizeOutcome(intent({ status: 'processing' }))).toEqual({ kind: 'processing', pspReference: 'pi_123' });
  });

  it('requires_payment_method after confirmation: declined, with the reason of the last attempt', () => {
    const declined = intent({
      status: 'requires_payment_method',
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' },
    });
    expect(authorizeOutcome(declined)).toEqual({
      kind: 'declined',
      message: 'Insufficient funds',
      pspReference: 'pi_123',
    });
    // The fixture stripe-mock answers with: no decline reason at all.
    expect(authorizeOutcome(intent({ status: 'requires_payment_method' }))).toEqual({
      kind: 'declined',
      message: 'Card declined',
      pspReference: 'pi_123',
    });
  });

  it('requires_payment_method after a failed challenge: declined as an authentication failure', () => {
    const failed = intent({
      status: 'requires_payment_method',
      last_payment_error: { type: 'invalid_request_error', code: 'payment_intent_authentication_failure' },
    });
    expect(authorizeOutcome(failed)).toEqual({
      kind: 'declined',
      message: '3-D Secure authentication failed',
      pspReference: 'pi_123',
      authenticationFailed: true,
    });
  });

  it('canceled: declined, expired when Stripe cancelled it itself', () => {
    expect(authorizeOutcome(intent({ status: 'canceled', cancellation_reason: 'automatic' }))).toMatchObject({
      kind: 'declined',
      message: 'Authorization expired before capture',
    });
    expect(authorizeOutcome(intent({ status: 'canceled', cancellation_reason: 'abandoned' }))).toMatchObject({
      kind: 'declined',
      message: 'Authorization cancelled',
    });
  });

  it.each(['requires_confirmation', 'some_future_status'])(
    '%s: not what a confirmed payment can be, for ops',
    (status) => {
      expectNonRetryable(() => authorizeOutcome(intent({ status })), FAILURE_PROCESSOR_UNEXPECTED_ANSWER);
    },
  );

  it('a 2xx capture or cancel answer is the capture or the cancellation, whatever status it shows', () => {
    for (const status of ['succeeded', 'requires_capture', 'requires_payment_method'] as const) {
      expect(captureOutcome(intent({ status }))).toEqual({ kind: 'captured' });
      expect(voidOutcome(intent({ status }))).toEqual({ kind: 'voided' });
    }
  });
});

describe('refund statuses', () => {
  it.each(['succeeded', 'pending'])('%s: refunded, under the refund id', (status) => {
    expect(refundOutcome(refund({ status }))).toEqual({ kind: 'refunded', pspReference: 're_123' });
  });

  it('failed and canceled: failed, with the reason', () => {
    expect(refundOutcome(refund({ status: 'failed', failure_reason: 'expired_or_canceled_card' }))).toEqual({
      kind: 'failed',
      message: 'Refund failed: the card expired or was closed',
    });
    expect(refundOutcome(refund({ status: 'canceled' }))).toEqual({
      kind: 'failed',
      message: 'Refund failed',
    });
    expect(refundOutcome(refund({ status: 'failed', failure_reason: 'something_new' }))).toEqual({
      kind: 'failed',
      message: 'Refund failed',
    });
  });

  it('requires_action (never for cards): for ops', () => {
    expectNonRetryable(() => refundOutcome(refund({ status: 'requires_action' })), FAILURE_PROCESSOR_UNEXPECTED_ANSWER);
  });
});

describe('card declines (402, StripeCardError)', () => {
  it.each([
    ['generic_decline', 'Card declined'],
    ['insufficient_funds', 'Insufficient funds'],
    ['expired_card', 'Expired card'],
    ['incorrect_cvc', 'Incorrect CVV'],
    ['do_not_honor', 'Card declined by the issuer'],
    ['lost_card', 'Card refused by the issuer: do not retry this card'],
    ['stolen_card', 'Card refused by the issuer: do not retry this card'],
    ['fraudulent', 'Card refused by the issuer: do not retry this card'],
    ['card_velocity_exceeded', 'Card limit exceeded'],
    ['processing_error', 'Processing error at the issuer: try again'],
    ['a_code_stripe_adds_later', 'Card declined (a_code_stripe_adds_later)'],
  ])('decline_code %s → declined, "%s"', (declineCode, message) => {
    const err = cardError(declineCode, 'card_declined', intent({ status: 'requires_payment_method' }));
    expect(err).toBeInstanceOf(Stripe.errors.StripeCardError);
    expect(authorizeError(err)).toEqual({ kind: 'declined', message, pspReference: 'pi_123' });
  });

  it.each([
    ['expired_card', 'Expired card'],
    ['incorrect_number', 'Incorrect card number'],
    ['invalid_expiry_year', 'Incorrect expiry date'],
    ['incorrect_cvc', 'Incorrect CVV'],
    ['authentication_required', '3-D Secure authentication required by the issuer'],
  ])('code %s without a decline code (the PaymentMethod refused) → "%s", no reference', (code, message) => {
    expect(authorizeError(cardError(undefined, code))).toEqual({ kind: 'declined', message });
  });

  it('a failed challenge reported as a card error is an authentication failure', () => {
    expect(authorizeError(cardError(undefined, 'payment_intent_authentication_failure'))).toEqual({
      kind: 'declined',
      message: '3-D Secure authentication failed',
      authenticationFailed: true,
    });
  });

  it('a decline message never repeats an odd code Stripe sent, only a short identifier', () => {
    expect(declineMessage('Weird Code 4242424242424242', null)).toBe('Card declined');
    expect(declineMessage(null, null)).toBe('Card declined');
  });

  it('a decline on capture fails the capture (the workflow voids), on void fails the void, on refund the refund', () => {
    expect(captureError(cardError('do_not_honor'))).toEqual({ kind: 'failed', message: 'Card declined by the issuer' });
    expect(voidError(cardError('generic_decline'))).toEqual({ kind: 'failed', message: 'Card declined' });
    expect(refundError(cardError('expired_card', 'expired_card'))).toEqual({
      kind: 'failed',
      message: 'Refund failed: Expired card',
    });
  });
});

describe('transient faults: retried by Temporal with the same idempotency keys', () => {
  it.each([
    ['429, rate limited', () => stripeError(429, { type: 'invalid_request_error', code: 'rate_limit' })],
    ['400 with code rate_limit', () => stripeError(400, { type: 'invalid_request_error', code: 'rate_limit' })],
    ['500', () => stripeError(500, { type: 'api_error', message: 'Something went wrong' })],
    ['502', () => stripeError(502, { type: 'api_error' })],
    ['503', () => stripeError(503, { type: 'api_error' })],
    ['409 lock timeout', () => stripeError(409, { type: 'invalid_request_error', code: 'lock_timeout' })],
    [
      'any error with Stripe-Should-Retry: true',
      () => stripeError(400, { type: 'invalid_request_error' }, { 'stripe-should-retry': 'true' }),
    ],
    ['no connection', () => connectionError('An error occurred with our connection to Stripe.')],
    ['the client timeout', () => connectionError('Request aborted due to timeout being reached (10000ms)')],
  ])('%s → PspUnavailableError, on every operation', (_what, make) => {
    expectRetried(() => authorizeError(make()));
    expectRetried(() => captureError(make()));
    expectRetried(() => voidError(make()));
    expectRetried(() => refundError(make()));
  });

  it('a 5xx that Stripe says a retry cannot change (its idempotency layer replays it) is for ops, not a loop', () => {
    const err = stripeError(500, { type: 'api_error' }, { 'stripe-should-retry': 'false' });
    const message = expectNonRetryable(() => captureError(err), FAILURE_PROCESSOR_UNEXPECTED_ANSWER);
    expect(message).toContain('check the payment in Stripe');
  });
});

describe('refused requests: non-retryable, for ops', () => {
  it.each([
    [
      '400 invalid parameter',
      () =>
        stripeError(400, {
          type: 'invalid_request_error',
          code: 'parameter_invalid_integer',
          param: 'amount',
          message: 'Invalid integer: 12.5',
        }),
    ],
    ['404 unknown PaymentIntent', () => stripeError(404, { type: 'invalid_request_error', code: 'resource_missing' })],
    [
      'idempotency key reused with other parameters',
      () =>
        stripeError(400, {
          type: 'idempotency_error',
          message: 'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        }),
    ],
  ])('%s → ProcessorRejectedRequest', (_what, make) => {
    for (const call of [authorizeError, captureError, voidError, refundError])
      expectNonRetryable(() => call(make()), FAILURE_PROCESSOR_REJECTED_REQUEST);
  });

  it("names Stripe's code, parameter and request id for ops", () => {
    const err = stripeError(400, {
      type: 'invalid_request_error',
      code: 'parameter_invalid_integer',
      param: 'amount_to_capture',
      message: 'Invalid integer: 12.5',
    });
    const message = expectNonRetryable(() => captureError(err), FAILURE_PROCESSOR_REJECTED_REQUEST);
    expect(message).toBe(
      'Stripe refused the request: Invalid integer: 12.5 (StripeInvalidRequestError, HTTP 400, code ' +
        'parameter_invalid_integer, param amount_to_capture, request req_abc)',
    );
  });

  it.each([
    ['401 invalid key', () => stripeError(401, { type: 'invalid_request_error', message: 'Invalid API Key provided' })],
    ['403 missing permission', () => stripeError(403, { type: 'invalid_request_error' })],
  ])('%s → ProcessorCredentialsRejected', (_what, make) => {
    for (const call of [authorizeError, captureError, voidError, refundError])
      expectNonRetryable(() => call(make()), FAILURE_PROCESSOR_CREDENTIALS);
  });

  it('an error the library names but SettleFlow does not expect (an OAuth one) → ProcessorUnexpectedAnswer', () => {
    const err = new Stripe.errors.StripeInvalidGrantError({ type: 'invalid_grant', message: 'bad grant' });
    expectNonRetryable(() => classifyStripeError(err), FAILURE_PROCESSOR_UNEXPECTED_ANSWER);
  });

  it('an error that is not Stripe’s (a bug) goes up as it is', () => {
    const bug = new TypeError('x is undefined');
    expect(thrown(() => authorizeError(bug)).error).toBe(bug);
  });
});

describe('"unexpected state": Stripe says where the PaymentIntent already is', () => {
  const unexpectedState = (
    status: Stripe.PaymentIntent.Status,
    cancellation_reason: Stripe.PaymentIntent.CancellationReason | null = null,
  ) =>
    stripeError(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `This PaymentIntent's status is ${status}.`,
      payment_intent: intent({ status, cancellation_reason }),
    });

  it('a capture of an intent already captured (another key, or one Stripe forgot) is captured', () => {
    expect(captureError(unexpectedState('succeeded'))).toEqual({ kind: 'captured' });
  });

  it('a capture of a cancelled or expired authorization fails', () => {
    expect(captureError(unexpectedState('canceled', 'automatic'))).toEqual({
      kind: 'failed',
      message: 'Authorization expired before capture',
    });
    expect(captureError(unexpectedState('canceled', 'requested_by_customer'))).toEqual({
      kind: 'failed',
      message: 'Authorization cancelled',
    });
  });

  it('a void of an intent already cancelled is voided; of one already captured fails (refund instead)', () => {
    expect(voidError(unexpectedState('canceled'))).toEqual({ kind: 'voided' });
    expect(voidError(unexpectedState('succeeded'))).toEqual({
      kind: 'failed',
      message: 'Already captured: the payment cannot be voided, only refunded',
    });
  });

  it('any other state is for ops; on authorize, the state reads as a status', () => {
    expectNonRetryable(
      () => captureError(unexpectedState('requires_payment_method')),
      FAILURE_PROCESSOR_REJECTED_REQUEST,
    );
    expectNonRetryable(() => voidError(unexpectedState('processing')), FAILURE_PROCESSOR_REJECTED_REQUEST);
    expect(authorizeError(unexpectedState('requires_capture'))).toEqual({ kind: 'approved', pspReference: 'pi_123' });
  });

  it('a refund of a payment refunded in full already fails; other refusals are for ops', () => {
    const refunded = stripeError(400, { type: 'invalid_request_error', code: 'charge_already_refunded' });
    expect(refundError(refunded)).toEqual({
      kind: 'failed',
      message: 'Refund failed: the payment was already refunded in full',
    });
  });
});

describe('no card data in any message', () => {
  it('what Stripe echoes of the card (number, CVC) never reaches a failure message', () => {
    const echoed = stripeError(400, {
      type: 'invalid_request_error',
      param: 'card[number]',
      message: `Invalid card ${PAN} (cvc ${CVV}), also 4242 4242 4242 4242 and 4242-4242-4242-4242`,
    });
    const message = expectNonRetryable(() => authorizeError(echoed, [PAN, CVV]), FAILURE_PROCESSOR_REJECTED_REQUEST);
    expect(findCardData(message)).toEqual([]);
    expect(message).not.toContain(PAN);
    expect(message).not.toContain(CVV);
    expect(message).toContain('param card[number]');

    const retried = expectRetried(() => authorizeError(connectionError(`socket closed while sending ${PAN}`), [PAN]));
    expect(findCardData(retried)).toEqual([]);
  });

  it('scrub leaves no Luhn-valid number in any text, wherever the number stands', () => {
    const luhnPan = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 12, maxLength: 18 }).map((digits) => {
      const body = [4, ...digits];
      // The check digit that makes the whole number pass Luhn.
      const sum = [...body]
        .reverse()
        .reduce((acc, d, i) => acc + (i % 2 === 0 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d), 0);
      return [...body, (10 - (sum % 10)) % 10].join('');
    });
    const grouped = fc
      .tuple(luhnPan, fc.constantFrom('', ' ', '-'))
      .map(([pan, sep]) => pan.replace(/(\d{4})(?=\d)/g, `$1${sep}`));
    fc.assert(
      fc.property(fc.string(), grouped, fc.string(), (before, pan, after) => {
        const text = `${before}${pan}${after}`;
        expect(findCardData(scrub(text)).filter((hit) => hit.kind === 'pan')).toEqual([]);
      }),
    );
  });

  it('every outcome message built here is free of card data', () => {
    const messages = [
      ...['generic_decline', 'lost_card', 'insufficient_funds', undefined].map(
        (code) => (authorizeError(cardError(code, 'card_declined')) as { message: string }).message,
      ),
      (captureError(cardError('do_not_honor')) as { message: string }).message,
      (refundOutcome(refund({ status: 'failed', failure_reason: 'declined' })) as { message: string }).message,
    ];
    for (const message of messages) expect(findCardData(message)).toEqual([]);
  });
});
