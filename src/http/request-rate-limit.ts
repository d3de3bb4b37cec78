import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimiterMongoById } from '../auth/rate-limit-store';
import { errors } from '../epro/errors';
import type { EproState } from './epro';

// Accounts share a handful of distinct limits; the bound only guards against a pathological configuration.
const MAX_DISTINCT_LIMITS = 1000;

/**
 * Requests per minute per API key, counted in MongoDB so every API process shares the count (fixed one-minute
 * windows). A key over its limit is then refused from memory for the rest of its window, without a store call.
 */
export class RequestRateLimiter {
  private readonly byLimit = new Map<number, RateLimiterMongoById>();

  constructor(private readonly db: Db) {}

  /** Counts one request of `keyId`; when it is over `perMinute`, the whole seconds to wait before retrying. */
  async take(keyId: string, perMinute: number): Promise<number | undefined> {
    try {
      await this.limiterFor(perMinute).consume(keyId);
      return undefined;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext / 1000));
      throw err;
    }
  }

  private limiterFor(perMinute: number): RateLimiterMongoById {
    let limiter = this.byLimit.get(perMinute);
    if (!limiter) {
      if (this.byLimit.size >= MAX_DISTINCT_LIMITS) this.byLimit.delete(this.byLimit.keys().next().value!);
      // One counter per key whatever its limit: a changed limit applies to the window already open.
      limiter = new RateLimiterMongoById(this.db, { keyPrefix: 'requests', points: perMinute, duration: 60, inMemoryBlockOnConsumed: perMinute });
      this.byLimit.set(perMinute, limiter);
    }
    return limiter;
  }
}

/**
 * After the key and account checks: a key over its account's request rate (or the configured default) gets
 * code 9 `Too many requests, retry later` with `Retry-After` in seconds (docs/authentication.md, "Throttling").
 */
export function requestRateLimit(limiter: RequestRateLimiter, defaultPerMinute: number): Middleware<EproState> {
  return async (ctx, next) => {
    const { keyId, merchant } = ctx.state.principal;
    const retryAfter = await limiter.take(keyId, merchant.rateLimitPerMinute ?? defaultPerMinute);
    if (retryAfter !== undefined) {
      ctx.set('Retry-After', String(retryAfter));
      throw errors.tooManyRequests();
    }
    await next();
  };
}
