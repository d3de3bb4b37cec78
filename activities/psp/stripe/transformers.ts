import { ApplicationFailure } from '@temporalio/activity';
import { alpha3ToAlpha2 } from 'i18n-iso-countries';
import Stripe from 'stripe';
import {
  type AuthorizeOutcome,
  type CaptureOutcome,
  type RefundOutcome,
  type VoidOutcome,
  FAILURE_PROCESSOR_CREDENTIALS,
  FAILURE_PROCESSOR_REJECTED_REQUEST,
  FAILURE_PROCESSOR_UNEXPECTED_ANSWER,
} from '../../../workflows/vocabulary';
import { type AuthorizeRequest, type MovementRequest, PspUnavailableError } from '../adapter';

/**
 * Everything the Stripe connector knows about Stripe's vocabulary, in one place: what SettleFlow sends (request
 * building), how Stripe's objects read as SettleFlow's outcomes, and how each of Stripe's errors is handled
 * (error classification). The connector (stripe-connector.ts) only makes the calls. Pure functions on the
 * library's own types, so that every branch is tested without a server (test/unit/stripe-transformers.test.ts).
 *
 * Outcomes and failures follow the processor interface (adapter.ts): a card decline is an outcome; a transient
 * fault throws PspUnavailableError (Temporal retries the activity with the same idempotency keys); what no retry
 * can fix throws a non-retryable ApplicationFailure named in workflows/vocabulary.ts. No message built here ever
 * carries card data: Stripe's own texts are scrubbed of long digit runs before they are passed on (see `scrub`).
 */

// ---------------------------------------------------------------------------------------------------------------
// Idempotency keys

/** The Stripe calls SettleFlow makes, one idempotency key namespace each. */
export type StripeStep = 'payment_method' | 'payment_intent' | 'capture' | 'cancel' | 'refund';

/**
 * Stripe's Idempotency-Key for one call: the request's key (the workflow's, which already names the step for a
 * void, `{workflowId}:void`, and a refund, `{workflowId}:refund:{Reference}`) followed by the Stripe call it
 * keys. Every distinct Stripe request thus has a key of its own (Stripe refuses a key reused with other
 * parameters), and the same request after a worker crash or a lost answer has the same key, so Stripe answers it
 * with its first result instead of moving money again. At most 98 characters of workflow id plus a few dozen:
 * under Stripe's limit of 255.
 */
export function stripeIdempotencyKey(requestKey: string, step: StripeStep): string {
  return `${requestKey}:${step}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Request building

/**
 * Stripe wants ISO 3166-1 alpha-2; SettleFlow's `Country` is alpha-3 (docs/fields.md). A code without an alpha-2
 * twin is left out rather than guessed: the address still goes, without its country.
 */
export function alpha2Country(alpha3: string | undefined): string | undefined {
  return alpha3 ? alpha3ToAlpha2(alpha3.toUpperCase()) : undefined;
}

/** Keeps only the fields that are set: Stripe refuses nothing for a missing optional field, but does for `null`. */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}

/**
 * The card and the cardholder as a Stripe PaymentMethod (raw card data: SettleFlow is the PCI-DSS service
 * provider holding the card). The billing details are what the merchant sent, for Stripe's risk checks and AVS.
 */
export function paymentMethodParams(request: AuthorizeRequest): Stripe.PaymentMethodCreateParams {
  const customer = request.customer;
  const name =
    customer?.cardOwner ?? ([customer?.firstname, customer?.lastname].filter(Boolean).join(' ') || undefined);
  const address = defined<Stripe.AddressParam>({
    line1: customer?.address,
    postal_code: customer?.zipCode,
    city: customer?.city,
    country: alpha2Country(customer?.country),
  });
  const billing = defined<Stripe.PaymentMethodCreateParams.BillingDetails>({
    name,
    email: customer?.email,
    phone: customer?.phone,
    address: Object.keys(address).length > 0 ? address : undefined,
  });
  return {
    type: 'card',
    card: defined({
      number: request.card.number,
      exp_month: request.card.month,
      exp_year: request.card.year,
      cvc: request.card.cvv,
    }),
    ...(Object.keys(billing).length > 0 ? { billing_details: billing } : {}),
  };
}

/**
 * What Stripe keeps with the PaymentIntent, so that its events (and anyone reading its dashboard) find the
 * payment: the workflow, the E-PRO Reference and Tid, the merchant and the mode.
 */
export function paymentMetadata(request: AuthorizeRequest): Stripe.MetadataParam {
  const metadata: Record<string, string | undefined> = {
    settleflow_workflow_id: request.labels?.workflowId,
    settleflow_reference: request.labels?.reference,
    settleflow_tid: request.labels?.tid,
    settleflow_merchant: request.account?.merchantId,
    settleflow_mode: request.account?.mode,
    settleflow_customer_id: request.customer?.customerId,
  };
  return defined(metadata) as Stripe.MetadataParam;
}

/**
 * The PaymentIntent that authorizes: amount in minor units (SettleFlow's own unit, and Stripe's), currency in
 * lower case, `capture_method: manual` (the workflow captures as a separate step, and voids if that fails),
 * `confirm: true` (authorize now), with the card's PaymentMethod.
 *
 * 3-D Secure is Stripe's to ask for (its SCA engine decides by default). With a `returnUrl`, a challenge comes back
 * as `requires_action` with a page to redirect the cardholder to; without one there is nowhere to come back to,
 * so Stripe is told to decline instead (`error_on_requires_action`), and that no payment method may redirect
 * (without that, Stripe asks for a return URL in case one of the account's methods redirects). A merchant's
 * 3DS=yes asks Stripe to challenge (`request_three_d_secure: challenge`). `authenticated` is not sent: it means
 * that the cardholder passed SettleFlow's own challenge page, where a processor that hosts its challenge never
 * sends anyone. The customer's IP (`clientIp`) has no PaymentIntent field for a server-side confirmation.
 */
export function paymentIntentParams(
  request: AuthorizeRequest,
  paymentMethod: string,
): Stripe.PaymentIntentCreateParams {
  return {
    amount: request.amount,
    currency: request.currency.toLowerCase(),
    payment_method: paymentMethod,
    capture_method: 'manual',
    confirm: true,
    ...(request.returnUrl
      ? { return_url: request.returnUrl }
      : { error_on_requires_action: true, automatic_payment_methods: { enabled: true, allow_redirects: 'never' } }),
    ...(request.customer?.description ? { description: request.customer.description } : {}),
    ...(request.threeDSRequested ? { payment_method_options: { card: { request_three_d_secure: 'challenge' } } } : {}),
    metadata: paymentMetadata(request),
  };
}

/** Captures exactly the authorized amount asked for, never more than the workflow means to. */
export function captureParams(request: MovementRequest): Stripe.PaymentIntentCaptureParams {
  return { amount_to_capture: request.amount };
}

export function refundParams(request: MovementRequest): Stripe.RefundCreateParams {
  return { payment_intent: request.pspReference, amount: request.amount };
}

// ---------------------------------------------------------------------------------------------------------------
// Response classification

/**
 * What a PaymentIntent's status means for the authorization, after `confirm` and on every later check:
 * - `requires_capture`: authorized, the money is held → approved;
 * - `succeeded`: captured already (with manual capture only our capture, or someone in Stripe's dashboard, does
 *   that), so the authorization was approved: approved, and the workflow's capture then finds it captured
 *   (captureError reads Stripe's "unexpected state" answer as captured);
 * - `requires_action` with a redirect: 3-D Secure on Stripe's page → challenge_required with its URL;
 * - `processing`: Stripe decides later → processing (its event or a later check tells);
 * - `requires_payment_method`: this attempt failed (a decline, a failed challenge) → declined, with the reason;
 * - `canceled`: voided, or expired before capture → declined;
 * - anything else (`requires_confirmation`, `requires_action` without a redirect: not what a confirmed card
 *   payment with a return URL can be in) → non-retryable, for ops.
 */
export function authorizeOutcome(intent: Stripe.PaymentIntent): AuthorizeOutcome {
  switch (intent.status) {
    case 'requires_capture':
    case 'succeeded':
      return { kind: 'approved', pspReference: intent.id };
    case 'requires_action': {
      const redirect = intent.next_action?.type === 'redirect_to_url' ? intent.next_action.redirect_to_url : null;
      if (redirect?.url) return { kind: 'challenge_required', pspReference: intent.id, redirectUrl: redirect.url };
      throw unexpectedAnswer(`PaymentIntent ${intent.id} requires action ${intent.next_action?.type ?? '(none)'}`);
    }
    case 'processing':
      return { kind: 'processing', pspReference: intent.id };
    case 'requires_payment_method':
      return lastErrorOutcome(intent);
    case 'canceled':
      return {
        kind: 'declined',
        message: intent.cancellation_reason === 'automatic' ? MESSAGES.expired : MESSAGES.cancelled,
        pspReference: intent.id,
      };
    default:
      throw unexpectedAnswer(`PaymentIntent ${intent.id} has status ${String(intent.status)}`);
  }
}

function lastErrorOutcome(intent: Stripe.PaymentIntent): AuthorizeOutcome {
  const error = intent.last_payment_error;
  const authenticationFailed = error?.code === AUTHENTICATION_FAILURE;
  return {
    kind: 'declined',
    message: declineMessage(error?.decline_code, error?.code),
    pspReference: intent.id,
    ...(authenticationFailed ? { authenticationFailed } : {}),
  };
}

/**
 * Stripe answers a capture with the captured PaymentIntent, or with an error when it cannot capture (its API
 * reference, "Capture a PaymentIntent"): a 2xx answer *is* the capture, whatever status it shows (stripe-mock, for
 * one, answers with its fixture's). Errors go through captureError.
 */
export function captureOutcome(_intent: Stripe.PaymentIntent): CaptureOutcome {
  return { kind: 'captured' };
}

/** The same rule for a cancel (void): a 2xx answer is the cancellation; errors go through voidError. */
export function voidOutcome(_intent: Stripe.PaymentIntent): VoidOutcome {
  return { kind: 'voided' };
}

/**
 * A refund Stripe accepted is `succeeded`, or `pending` while the card network confirms it (a `refund.failed`
 * event tells if that goes wrong, for ops): both are refunded here, as the workflow has no pending refund.
 * `failed` and `canceled` are failed, with Stripe's reason; `requires_action` (never for cards) is for ops.
 */
export function refundOutcome(refund: Stripe.Refund): RefundOutcome {
  switch (refund.status) {
    case 'succeeded':
    case 'pending':
      return { kind: 'refunded', pspReference: refund.id };
    case 'failed':
    case 'canceled':
      return { kind: 'failed', message: refundFailureMessage(refund.failure_reason) };
    default:
      throw unexpectedAnswer(`Refund ${refund.id} has status ${String(refund.status)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Messages

/** The reasons Stripe writes, as a merchant reads them in the payment's Message. */
const MESSAGES = {
  declined: 'Card declined',
  expired: 'Authorization expired before capture',
  cancelled: 'Authorization cancelled',
  authenticationFailed: '3-D Secure authentication failed',
} as const;

const AUTHENTICATION_FAILURE = 'payment_intent_authentication_failure';

/**
 * Stripe's decline codes (on `decline_code`) and card error codes (on `code`), as readable text. Lost, stolen and
 * fraud-flagged cards read as a refusal not to retry, without the reason: Stripe asks not to tell the cardholder,
 * and the merchant may show the Message to them.
 */
export const DECLINES: Readonly<Record<string, string>> = {
  generic_decline: MESSAGES.declined,
  card_declined: MESSAGES.declined,
  do_not_honor: 'Card declined by the issuer',
  insufficient_funds: 'Insufficient funds',
  expired_card: 'Expired card',
  incorrect_cvc: 'Incorrect CVV',
  invalid_cvc: 'Incorrect CVV',
  incorrect_number: 'Incorrect card number',
  invalid_number: 'Incorrect card number',
  invalid_expiry_month: 'Incorrect expiry date',
  invalid_expiry_year: 'Incorrect expiry date',
  lost_card: 'Card refused by the issuer: do not retry this card',
  stolen_card: 'Card refused by the issuer: do not retry this card',
  pickup_card: 'Card refused by the issuer: do not retry this card',
  fraudulent: 'Card refused by the issuer: do not retry this card',
  restricted_card: 'Card refused by the issuer: do not retry this card',
  security_violation: 'Card refused by the issuer: do not retry this card',
  card_velocity_exceeded: 'Card limit exceeded',
  withdrawal_count_limit_exceeded: 'Card limit exceeded',
  card_not_supported: 'Card not supported for this payment',
  currency_not_supported: 'Currency not supported by this card',
  authentication_required: '3-D Secure authentication required by the issuer',
  [AUTHENTICATION_FAILURE]: MESSAGES.authenticationFailed,
  processing_error: 'Processing error at the issuer: try again',
  try_again_later: 'Issuer unavailable: try again later',
  issuer_not_available: 'Issuer unavailable: try again later',
  approve_with_id: 'Card declined by the issuer: try again',
};

/**
 * The issuer's decline code first, then Stripe's error code. A code SettleFlow does not list reads as a decline
 * naming it, when it is a short identifier (as all of Stripe's are); anything else Stripe sent is not repeated.
 */
export function declineMessage(declineCode?: string | null, code?: string | null): string {
  for (const candidate of [declineCode, code]) {
    if (!candidate) continue;
    const known = DECLINES[candidate];
    if (known) return known;
    if (/^[a-z_]{1,64}$/.test(candidate)) return `${MESSAGES.declined} (${candidate})`;
  }
  return MESSAGES.declined;
}

const REFUND_FAILURES: Record<string, string> = {
  lost_or_stolen_card: 'Refund failed: the card was reported lost or stolen',
  expired_or_canceled_card: 'Refund failed: the card expired or was closed',
  charge_for_pending_refund_disputed: 'Refund failed: the payment is disputed',
  insufficient_funds: 'Refund failed: insufficient funds on the merchant account',
  declined: 'Refund failed: declined by the card network',
  merchant_request: 'Refund cancelled',
};

function refundFailureMessage(reason: string | null | undefined): string {
  return (reason && REFUND_FAILURES[reason]) ?? 'Refund failed';
}

/**
 * Takes card data out of a text from Stripe before it goes anywhere (an error's message, a log line, a workflow
 * history): every number of 12 digits or more, written in one piece or grouped by spaces or dashes, and any of
 * the given values (the card number and CVC of the request at hand) standing as a number of its own.
 */
export function scrub(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/\d(?:[ -]?\d){11,}/g, '[number removed]');
  for (const secret of secrets) {
    const digits = secret?.replace(/\D/g, '');
    if (digits) out = out.replace(new RegExp(`(?<!\\d)${digits}(?!\\d)`, 'g'), '[removed]');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Error classification

/**
 * How a Stripe error reads, before the operation decides what it means for it:
 * - `declined`: a card error (HTTP 402, StripeCardError): the card or the issuer said no;
 * - `unexpected_state`: Stripe refused because the PaymentIntent is not in the state the call needs
 *   (`payment_intent_unexpected_state`), and says which state it is in: a capture of an intent already captured,
 *   a cancel of one already cancelled; the operation reads that state;
 * - `refused`: another invalid request, with its code, that an operation may read as its own failure.
 * Everything else is thrown here.
 */
export type StripeErrorVerdict =
  | { kind: 'declined'; message: string; pspReference?: string; authenticationFailed?: boolean }
  | { kind: 'unexpected_state'; intent: Stripe.PaymentIntent; failure: ApplicationFailure }
  | { kind: 'refused'; code: string | undefined; failure: ApplicationFailure };

/**
 * The one place that decides what a Stripe error is, by the library's own error classes (its `generateV1Error`
 * maps HTTP statuses to them):
 * - StripeCardError (402) → declined, with a readable Message (declineMessage);
 * - StripeConnectionError (network, timeout), StripeRateLimitError (429), StripeAPIError (5xx, 409 lock
 *   timeouts) → PspUnavailableError, retried by Temporal with the same idempotency keys; except when Stripe says
 *   `Stripe-Should-Retry: false` (its idempotency layer would replay the same failure): non-retryable, for ops;
 *   and any error with `Stripe-Should-Retry: true` is retried;
 * - StripeAuthenticationError (401), StripePermissionError (403) → non-retryable ProcessorCredentialsRejected;
 * - StripeIdempotencyError, StripeInvalidRequestError (400, 404) → non-retryable ProcessorRejectedRequest, with
 *   Stripe's message (scrubbed), code, parameter and request id for ops; two are handed back to the operation
 *   (`unexpected_state`, `refused`) because they may be the answer it wants;
 * - anything else from Stripe → non-retryable ProcessorUnexpectedAnswer. An error that is not Stripe's (a bug)
 *   is rethrown as it is.
 * `secrets`: the card number and CVC of the request, kept out of every message even if Stripe echoed them.
 */
export function classifyStripeError(err: unknown, secrets: readonly (string | undefined)[] = []): StripeErrorVerdict {
  const E = Stripe.errors;
  if (!(err instanceof E.StripeError)) throw err;
  const detail = describe(err, secrets);

  if (err instanceof E.StripeCardError) {
    const authenticationFailed = err.code === AUTHENTICATION_FAILURE;
    return {
      kind: 'declined',
      message: declineMessage(err.decline_code, err.code),
      ...(err.payment_intent?.id ? { pspReference: err.payment_intent.id } : {}),
      ...(authenticationFailed ? { authenticationFailed } : {}),
    };
  }
  const shouldRetry = headerOf(err, 'stripe-should-retry');
  if (shouldRetry === 'true') throw new PspUnavailableError(`Stripe asks to retry: ${detail}`);
  if (err instanceof E.StripeConnectionError || err instanceof E.StripeRateLimitError)
    throw new PspUnavailableError(detail);
  if (err instanceof E.StripeAPIError) {
    if (shouldRetry === 'false')
      throw ApplicationFailure.nonRetryable(
        `Stripe failed and says a retry would fail the same way; check the payment in Stripe: ${detail}`,
        FAILURE_PROCESSOR_UNEXPECTED_ANSWER,
      );
    throw new PspUnavailableError(detail);
  }
  if (err instanceof E.StripeAuthenticationError || err instanceof E.StripePermissionError)
    throw ApplicationFailure.nonRetryable(
      `Stripe refused the merchant's credentials: ${detail}`,
      FAILURE_PROCESSOR_CREDENTIALS,
    );
  if (err instanceof E.StripeIdempotencyError)
    throw ApplicationFailure.nonRetryable(`Stripe refused the request: ${detail}`, FAILURE_PROCESSOR_REJECTED_REQUEST);
  if (err instanceof E.StripeInvalidRequestError) {
    const failure = ApplicationFailure.nonRetryable(
      `Stripe refused the request: ${detail}`,
      FAILURE_PROCESSOR_REJECTED_REQUEST,
    );
    if (err.code === 'payment_intent_unexpected_state' && err.payment_intent?.status)
      return { kind: 'unexpected_state', intent: err.payment_intent, failure };
    return { kind: 'refused', code: err.code, failure };
  }
  throw ApplicationFailure.nonRetryable(
    `Stripe answered an error SettleFlow does not handle: ${detail}`,
    FAILURE_PROCESSOR_UNEXPECTED_ANSWER,
  );
}

/** An error of `authorize` or `checkAuthorization`: a decline is an outcome; an intent's state reads as always. */
export function authorizeError(err: unknown, secrets: readonly (string | undefined)[] = []): AuthorizeOutcome {
  const verdict = classifyStripeError(err, secrets);
  switch (verdict.kind) {
    case 'declined':
      return verdict;
    case 'unexpected_state':
      return authorizeOutcome(verdict.intent);
    case 'refused':
      throw verdict.failure;
  }
}

/**
 * An error of `capture`: a card decline fails the capture (the workflow then voids the authorization); an intent
 * already `succeeded` was captured (a capture under another key, or one whose key Stripe forgot after 24 hours);
 * one `canceled` can no longer be captured (voided, or its authorization expired).
 */
export function captureError(err: unknown): CaptureOutcome {
  const verdict = classifyStripeError(err);
  switch (verdict.kind) {
    case 'declined':
      return { kind: 'failed', message: verdict.message };
    case 'unexpected_state':
      if (verdict.intent.status === 'succeeded') return { kind: 'captured' };
      if (verdict.intent.status === 'canceled')
        return {
          kind: 'failed',
          message: verdict.intent.cancellation_reason === 'automatic' ? MESSAGES.expired : MESSAGES.cancelled,
        };
      throw verdict.failure;
    case 'refused':
      throw verdict.failure;
  }
}

/** An error of `void` (cancel): an intent already `canceled` is voided; one already captured cannot be. */
export function voidError(err: unknown): VoidOutcome {
  const verdict = classifyStripeError(err);
  switch (verdict.kind) {
    case 'declined':
      return { kind: 'failed', message: verdict.message };
    case 'unexpected_state':
      if (verdict.intent.status === 'canceled') return { kind: 'voided' };
      if (verdict.intent.status === 'succeeded')
        return { kind: 'failed', message: 'Already captured: the payment cannot be voided, only refunded' };
      throw verdict.failure;
    case 'refused':
      throw verdict.failure;
  }
}

/** An error of `refund`: declined by the network, or nothing left to refund, fails the refund; the rest throws. */
export function refundError(err: unknown): RefundOutcome {
  const verdict = classifyStripeError(err);
  if (verdict.kind === 'declined') return { kind: 'failed', message: `Refund failed: ${verdict.message}` };
  if (verdict.kind === 'refused' && verdict.code === 'charge_already_refunded')
    return { kind: 'failed', message: 'Refund failed: the payment was already refunded in full' };
  throw verdict.failure;
}

function headerOf(err: Stripe.errors.StripeError, name: string): string | undefined {
  return err.headers?.[name];
}

/** What ops need to find the call in Stripe's dashboard, never the request's content. */
function describe(err: Stripe.errors.StripeError, secrets: readonly (string | undefined)[]): string {
  const parts = [
    err.type,
    err.statusCode ? `HTTP ${err.statusCode}` : undefined,
    err.code ? `code ${err.code}` : undefined,
    err.param ? `param ${err.param}` : undefined,
    err.requestId ? `request ${err.requestId}` : undefined,
  ].filter(Boolean);
  return `${scrub(err.message || '(no message)', secrets)} (${parts.join(', ')})`;
}

function unexpectedAnswer(what: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(
    `Stripe answered what SettleFlow does not expect: ${what}`,
    FAILURE_PROCESSOR_UNEXPECTED_ANSWER,
  );
}
