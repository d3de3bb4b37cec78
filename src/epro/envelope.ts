import { EproError } from './errors';

/** The E-PRO envelope: always HTTP 200, a numeric Code, and either a Result or an Error message. */
export type Envelope<R> = { Code: 0; Result: R } | { Code: number; Error: string };

export function success<R>(result: R): Envelope<R> {
  return { Code: 0, Result: result };
}

export function failure(error: EproError): Envelope<never> {
  return { Code: error.code, Error: error.message };
}

export function isEproError(err: unknown): err is EproError {
  return err instanceof EproError;
}

/** `YYYY-MM-DD HH:mm:ss`, UTC, as every Date field of the wire contract. */
export function eproDate(date: Date): string {
  return date.toISOString().slice(0, 19).replace('T', ' ');
}
