import { ApplicationFailure } from '@temporalio/activity';
import Stripe from 'stripe';
import {
  type AuthorizeOutcome,
  type CaptureOutcome,
  type ProcessorAccount,
  type RefundOutcome,
  type VoidOutcome,
  FAILURE_PROCESSOR_CREDENTIALS,
} from '../../../workflows/vocabulary';
import type { AuthorizationCheck, AuthorizeRequest, MovementRequest, PspAdapter } from '../adapter';
import {
  authorizeError,
  authorizeOutcome,
  captureError,
  captureOutcome,
  captureParams,
  paymentIntentParams,
  paymentMethodParams,
  refundError,
  refundOutcome,
  refundParams,
  stripeIdempotencyKey,
  voidError,
  voidOutcome,
} from './transformers';

/** The merchant's Stripe secret key for one processor account (sealed in the store, never logged). */
export interface StripeCredentials {
  secretKey: string;
}

export interface StripeConnectorOptions {
  /** The secret key of the merchant's Stripe account in the payment's mode. */
  credentials: (account: ProcessorAccount) => Promise<StripeCredentials>;
  /** Where Stripe's API answers; absent: Stripe itself. The tests point it at stripe-mock. */
  api?: { host: string; port: number; protocol: 'http' | 'https' };
  /**
   * Accept `sk_test_`/`rk_test_` keys for live accounts. Only for an API that is not Stripe's: stripe-mock takes
   * no other key, and the integration suite runs live merchants against it. A test account never takes a live key.
   */
  allowTestKeysForLive?: boolean;
  /** Per-call timeout; default 10 s, under the 15 s start-to-close timeout of the payment activities. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const KEY_MODE = /^(?:sk|rk)_(test|live)_/;

/**
 * Card payments through Stripe, with the official library, behind the processor interface (adapter.ts). What
 * Stripe's objects and errors mean is decided in transformers.ts; this class makes the calls.
 *
 * - authorize: a PaymentMethod from the card (raw card data, from the vault, inside the activity), then a
 *   PaymentIntent created and confirmed at once, with manual capture;
 * - checkAuthorization: the PaymentIntent read back and classified the same way (after Stripe's 3-D Secure page,
 *   while `processing`, before a 3-D Secure timeout gives up);
 * - capture, void (cancel) and refund on that PaymentIntent.
 *
 * Every mutating call carries an Idempotency-Key derived from the request's (stripeIdempotencyKey): the activity
 * retry after a crash, a timeout or a lost answer sends the same keys, and Stripe answers with its first result.
 * The library's own retries are off (`maxNetworkRetries: 0`): Temporal retries, with those keys, and counts. (The
 * library still resends once, under the same key, a request whose connection closed before any answer.)
 */
export class StripeConnector implements PspAdapter {
  readonly name = 'stripe';
  readonly sendsEvents = true;
  /** One client per secret key: a client holds its key, and its keep-alive connections are worth keeping. */
  private readonly clients = new Map<string, Stripe>();

  constructor(private readonly options: StripeConnectorOptions) {}

  async authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome> {
    const stripe = await this.client(request.account);
    const secrets = [request.card.number, request.card.cvv];
    try {
      const method = await stripe.paymentMethods.create(paymentMethodParams(request), {
        idempotencyKey: stripeIdempotencyKey(request.idempotencyKey, 'payment_method'),
      });
      const intent = await stripe.paymentIntents.create(paymentIntentParams(request, method.id), {
        idempotencyKey: stripeIdempotencyKey(request.idempotencyKey, 'payment_intent'),
      });
      return authorizeOutcome(intent);
    } catch (err) {
      return authorizeError(err, secrets);
    }
  }

  async checkAuthorization(request: AuthorizationCheck): Promise<AuthorizeOutcome> {
    const stripe = await this.client(request.account);
    try {
      return authorizeOutcome(await stripe.paymentIntents.retrieve(request.pspReference));
    } catch (err) {
      return authorizeError(err);
    }
  }

  async capture(request: MovementRequest): Promise<CaptureOutcome> {
    const stripe = await this.client(request.account);
    try {
      const intent = await stripe.paymentIntents.capture(request.pspReference, captureParams(request), {
        idempotencyKey: stripeIdempotencyKey(request.idempotencyKey, 'capture'),
      });
      return captureOutcome(intent);
    } catch (err) {
      return captureError(err);
    }
  }

  async void(request: MovementRequest): Promise<VoidOutcome> {
    const stripe = await this.client(request.account);
    try {
      const intent = await stripe.paymentIntents.cancel(
        request.pspReference,
        {},
        { idempotencyKey: stripeIdempotencyKey(request.idempotencyKey, 'cancel') },
      );
      return voidOutcome(intent);
    } catch (err) {
      return voidError(err);
    }
  }

  async refund(request: MovementRequest): Promise<RefundOutcome> {
    const stripe = await this.client(request.account);
    try {
      const refund = await stripe.refunds.create(refundParams(request), {
        idempotencyKey: stripeIdempotencyKey(request.idempotencyKey, 'refund'),
      });
      return refundOutcome(refund);
    } catch (err) {
      return refundError(err);
    }
  }

  /**
   * The client for the account's key. A payment without an account predates connectors with accounts, and
   * all of those went to the simulator: it has no Stripe account to call. A key of the other mode is refused
   * before any call: a sandbox payment must never move real money, and a live one must not pretend to.
   */
  private async client(account: ProcessorAccount | undefined): Promise<Stripe> {
    if (!account)
      throw ApplicationFailure.nonRetryable(
        "a Stripe call needs the merchant's processor account, and this payment names none",
        FAILURE_PROCESSOR_CREDENTIALS,
      );
    const { secretKey } = await this.options.credentials(account);
    const keyMode = KEY_MODE.exec(secretKey)?.[1];
    const accepted = keyMode === account.mode || (keyMode === 'test' && this.options.allowTestKeysForLive === true);
    if (!accepted)
      throw ApplicationFailure.nonRetryable(
        `the Stripe key of merchant ${account.merchantId} is not a ${account.mode} secret key`,
        FAILURE_PROCESSOR_CREDENTIALS,
      );
    let client = this.clients.get(secretKey);
    if (!client) {
      client = new Stripe(secretKey, {
        maxNetworkRetries: 0,
        timeout: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        telemetry: false,
        appInfo: { name: 'SettleFlow' },
        ...(this.options.api ?? {}),
      });
      this.clients.set(secretKey, client);
    }
    return client;
  }
}
