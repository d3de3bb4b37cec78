import type {
  AuthorizeOutcome,
  CaptureOutcome,
  RefundOutcome,
  VoidOutcome,
  CustomerDetails,
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
}

export interface MovementRequest {
  idempotencyKey: string;
  pspReference: string;
  amount: number;
  currency: string;
}

export interface PspAdapter {
  readonly name: string;
  authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome>;
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
