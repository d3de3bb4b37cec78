import type {
  AuthorizeInput,
  AuthorizeOutcome,
  CaptureOutcome,
  RefundOutcome,
  VoidOutcome,
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

/**
 * What a connector is asked to authorize: the activity's input (workflows/vocabulary.ts, AuthorizeInput, where each
 * field is described) with the card, taken from the vault inside the activity, in place of the vault token.
 */
export type AuthorizeRequest = Omit<AuthorizeInput, 'vaultToken' | 'connector'> & { card: CardData };

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
  /**
   * The processor sends events about its authorizations (webhooks): the authorize activity then files each
   * authorization's reference so that those events find their payment (docs/connectors.md).
   */
  readonly sendsEvents?: boolean;
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
