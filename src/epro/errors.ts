/**
 * The E-PRO error catalog (CONTRACT.md §3). Every failure a merchant can see is an `EproError` made by one of
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

export const CODE_INVALID_REQUEST = 1;

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
  merchantRequires: (field: string) => new EproError(22, `Merchant configuration requires ${field}`),
  notFound: () => new EproError(102, 'Transaction not found'),
  invalidTransaction: (detail: string) => new EproError(103, `Invalid transaction: ${detail}`),
  tidUsed: () => new EproError(104, 'Tid already used'),
  returnUrlRequired: () => new EproError(106, 'ReturnUrl is mandatory with 3DS=yes'),
  invalidParameter: (code: number, field: string, hint?: string) =>
    new EproError(code, hint ? `Invalid parameter ${field}, ${hint}` : `Invalid parameter ${field}`),
  amountOverLimit: () => new EproError(300, "Amount exceeds merchant's per-transaction limit"),
};
