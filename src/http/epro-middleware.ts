import type { Middleware } from 'koa';
import type { ApiKeyVerifier, Principal } from '../auth/verifier';
import { failure, isEproError } from '../epro/envelope';
import { errors } from '../epro/errors';
import type { ApiMetrics } from '../metrics/api-metrics';
import { readEproBody } from './body';
import type { RequestState } from './request-id';

export interface EproState extends RequestState {
  principal: Principal;
  body: Record<string, unknown>;
}

/**
 * The outermost layer of every E-PRO endpoint: whatever happens inside, the answer is HTTP 200 with a JSON
 * envelope and a documented Code. An unexpected error becomes Code 9, logged with its detail here and never
 * shown to the caller.
 */
export const eproBoundary: Middleware<EproState> = async (ctx, next) => {
  try {
    if (ctx.method !== 'POST') throw errors.invalidRequest('use POST');
    await next();
  } catch (err) {
    if (isEproError(err)) {
      ctx.body = failure(err);
    } else {
      ctx.state.log.error({ err }, 'request failed');
      ctx.body = failure(errors.unavailable());
    }
  }
  ctx.status = 200;
  ctx.type = 'application/json';
};

/**
 * Key first (4, then 3), before the body is even read: an unauthenticated caller costs us nothing more. Right
 * after it, a disabled account gets 7 on every endpoint (docs/error-codes.md); the account is the one cached
 * with the verified key, so disabling takes effect within KEY_CACHE_TTL.
 */
export function authenticate(verifier: ApiKeyVerifier, metrics?: ApiMetrics): Middleware<EproState> {
  return async (ctx, next) => {
    const result = await verifier.verify(ctx.get('epro-api-key'), ctx.ip);
    if (!result.ok) {
      if (result.reason === 'busy') {
        metrics?.throttled.inc({ reason: 'verification_busy' });
        ctx.set('Retry-After', '1');
        throw errors.tooManyRequests();
      }
      throw result.reason === 'missing' ? errors.missingApiKey() : errors.invalidApiKey();
    }
    ctx.state.principal = result.principal;
    ctx.state.log = ctx.state.log.child({ merchantId: result.principal.merchant._id, mode: result.principal.mode });
    if (result.principal.merchant.status !== 'active') throw errors.invalidAccount('merchant account is disabled');
    await next();
  };
}

export const parseBody: Middleware<EproState> = async (ctx, next) => {
  ctx.state.body = await readEproBody(ctx);
  await next();
};
