/**
 * The one way the pages talk to the dashboard API (docs/dashboard.md, "Security"): JSON in and out, the session
 * cookie sent by the browser, and the session's CSRF token in `X-CSRF-Token` on every state-changing call. A 401
 * anywhere means the session ended (idle or absolute timeout, signed out elsewhere): the app goes to sign-in.
 */
import type { Session } from './api-types';

export const API = '/dashboard/api';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let onSessionEnded: (() => void) | null = null;

export function rememberSession(session: Session | null): void {
  csrfToken = session?.csrfToken ?? null;
}

export function whenSessionEnds(handler: () => void): void {
  onSessionEnded = handler;
}

type Method = 'GET' | 'POST' | 'DELETE';

export async function api<T>(method: Method, path: string, body?: unknown, options: { quiet401?: boolean } = {}) {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(`${API}${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // An answer that is not JSON (a proxy's error page): reported below by its status.
  }
  if (res.ok) return json as T;
  const error = (json as { error?: Record<string, unknown> } | undefined)?.error ?? {};
  const code = typeof error.code === 'string' ? error.code : `http_${res.status}`;
  const message = typeof error.message === 'string' ? error.message : `The server answered ${res.status}.`;
  if (res.status === 401 && !options.quiet401) {
    rememberSession(null);
    onSessionEnded?.();
  }
  throw new ApiError(res.status, code, message, error);
}

/** A message fit for the page, from whatever a call threw. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'forbidden') return 'Your role does not allow this (viewers can only look).';
    if (err.code === 'csrf') return 'The page was out of date with your session. Reload the page and try again.';
    if (err.code === 'too_many_attempts') return 'Too many attempts. Wait a few minutes, then try again.';
    return err.message;
  }
  return 'The dashboard could not reach the server. Check your connection and try again.';
}
