import type {
  AuthorizeOutcome,
  CaptureOutcome,
  RefundOutcome,
  VoidOutcome,
  CustomerDetails,
  PaymentLabels,
  ProcessorAccount,
} from '../../workflows/vocabulary';

/**
 * One interface for every card processor. Each connector maps its own statuses into these normalized
 * outcomes; the workflow never sees a processor's vocabulary. Every call carries an idempotency key (the
 * payment's workflow id): calling twice with the same key must return the first result and move no money twice.
 */
export interface CardData {
  number: string;
  month: number;
  year: number;
  /** Absent once authorization has been attempted (PCI-DSS: CVV is not kept). */
  cvv?: string;
}

export interface AuthorizeRequest {
  idempotencyKey: string;
  amount: number;
  currency: string;
  card: CardData;
  /** True once the cardholder completed a 3-D Secure challenge. */
  authenticated: boolean;
  /** The customer and order details the merchant sent, for the processor's risk checks; absent on old payments. */
  customer?: CustomerDetails;
  /** Whose processor account; absent only on calls scheduled by payments that predate accounts (simulator). */
  account?: ProcessorAccount;
  labels?: PaymentLabels;
  /** Where a processor that hosts the 3-D Secure challenge sends the cardholder back. */
  returnUrl?: string;
  /** The merchant sent 3DS=yes: a processor that hosts challenges is asked to challenge the cardholder. */
  threeDSRequested?: boolean;
}

export interface AuthorizationCheck {
  account?: ProcessorAccount;
  pspReference: string;
}

export interface MovementRequest {
  idempotencyKey: string;
  pspReference: string;
  amount: number;
  currency: string;
  account?: ProcessorAccount;
}

export interface PspAdapter {
  readonly name: string;
  authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome>;
  /**
   * Where an authorization stands now, as `authorize` would have answered it: after a challenge the processor
   * hosted, while it is `processing`, and before a 3-D Secure timeout gives up on it.
   */
  checkAuthorization(request: AuthorizationCheck): Promise<AuthorizeOutcome>;
  capture(request: MovementRequest): Promise<CaptureOutcome>;
  refund(request: MovementRequest): Promise<RefundOutcome>;
  void(request: MovementRequest): Promise<VoidOutcome>;
}

/** A transient processor fault (timeout, 5xx, connection reset): thrown, so Temporal retries the activity. */
export class PspUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PspUnavailableError';
  }
}
