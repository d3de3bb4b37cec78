/**
 * The E-PRO error catalog (docs/error-codes.md). Every failure a merchant can see is an `EproError` made by one of
 * these factories, so the wire message for each code lives in exactly one place.
 */
export class EproError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'EproError';
  }
}

export const errors = {
  invalidRequest: (detail?: string) => new EproError(1, detail ? `Invalid request: ${detail}` : 'Invalid request'),
  invalidApiKey: () => new EproError(3, 'Invalid API key'),
  missingApiKey: () => new EproError(4, 'API key missing'),
  missingParameter: (field: string) => new EproError(5, `Missing parameter ${field}`),
  invalidAccount: (detail: string) => new EproError(7, `Invalid account configuration: ${detail}`),
  threeDSNotAllowed: () => new EproError(8, '3DSecure not allowed on this account'),
  unavailable: () => new EproError(9, 'Service temporarily unavailable, retry with the same Tid'),
  tooManyRequests: () => new EproError(9, 'Too many requests, retry later'),
  maestroRequires3DS: () => new EproError(22, 'Maestro cards require 3DSecure'),
  /** 222, the code E-PRO integrators watch for when an account demands a field; 22 stays the Maestro rule. */
  merchantRequires: (field: string) => new EproError(222, `Merchant configuration requires ${field}`),
  notFound: () => new EproError(102, 'Transaction not found'),
  invalidTransaction: (detail: string) => new EproError(103, `Invalid transaction: ${detail}`),
  tidUsed: () => new EproError(104, 'Tid already used'),
  returnUrlRequired: () => new EproError(106, 'ReturnUrl is mandatory with 3DS=yes'),
  invalidParameter: (code: number, field: string, hint?: string) =>
    new EproError(code, hint ? `Invalid parameter ${field}, ${hint}` : `Invalid parameter ${field}`),
  /** Said instead of echoing the value: a card number must never travel back in an error (docs/fields.md). */
  looksLikeCard: (code: number, field: string) =>
    new EproError(code, `Invalid parameter ${field}: looks like a card number`),
  /** A refund `Amount` other than the whole captured amount: V1 refunds only in full (docs/fields.md). */
  partialRefund: (captured: number) =>
    new EproError(200, `Invalid parameter Amount: V1 refunds are full refunds only (captured: ${captured})`),
  amountOverLimit: () => new EproError(300, "Amount exceeds merchant's per-transaction limit"),
};
