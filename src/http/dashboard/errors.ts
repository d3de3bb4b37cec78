import type { Middleware } from 'koa';
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import type { RequestState } from '../request-id';

/**
 * The dashboard API's errors (docs/dashboard-api.md, "API"): an HTTP status and `{"error":{"code","message"}}`, never
 * the E-PRO envelope and never a stack. Every handler throws these for what it refuses.
 */
export class DashboardError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DashboardError';
  }
}

export const refuse = {
  invalid: (message: string) => new DashboardError(400, 'invalid_request', message),
  unauthenticated: (message = 'sign in first') => new DashboardError(401, 'unauthenticated', message),
  forbidden: () => new DashboardError(403, 'forbidden', 'this needs an admin user'),
  csrf: () => new DashboardError(403, 'csrf', 'missing or wrong X-CSRF-Token header'),
  /** Another merchant's or mode's things are "not found", never "forbidden": no oracle of what exists. */
  notFound: () => new DashboardError(404, 'not_found', 'not found'),
  tooManyAttempts: (message = 'too many failed sign-ins, try again later') =>
    new DashboardError(429, 'too_many_attempts', message),
};

/** Temporal's gRPC errors carry a numeric `code`; MongoDB's unreachable server has its own classes. */
function unavailable(err: unknown): boolean {
  if (err instanceof MongoServerSelectionError || err instanceof MongoNetworkError) return true;
  const code = (err as { code?: unknown }).code;
  // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4).
  return (err as { name?: unknown }).name === 'ServiceError' || code === 14 || code === 4;
}

/** Turns every failure below it into the JSON error shape; an unexpected one is logged and answered 500/503. */
export const dashboardBoundary: Middleware<RequestState> = async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    if (err instanceof DashboardError) {
      ctx.status = err.status;
      ctx.body = { error: { code: err.code, message: err.message, ...err.extra } };
      return;
    }
    ctx.state.log.error({ err }, 'dashboard request failed');
    if (unavailable(err)) {
      ctx.status = 503;
      ctx.set('Retry-After', '5');
      ctx.body = { error: { code: 'unavailable', message: 'a backing service is unavailable, retry shortly' } };
      return;
    }
    ctx.status = 500;
    ctx.body = { error: { code: 'internal', message: 'internal error' } };
  }
};
