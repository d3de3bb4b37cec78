import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimiterMongoById } from '../auth/rate-limit-store';
import { errors } from '../epro/errors';
import type { ApiMetrics } from '../metrics/api-metrics';
import type { EproState } from './epro-middleware';

// Accounts share a handful of distinct limits; the bound only guards against a pathological configuration.
const MAX_DISTINCT_LIMITS = 1000;

/** Requests of one key waiting for the store call in flight; each learns the seconds to wait, or undefined. */
interface Batch {
  limiter: RateLimiterMongoById;
  waiting: ((retryAfter: number | undefined) => void)[];
  failed: ((err: unknown) => void)[];
}

const retryAfterSeconds = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/**
 * Requests per minute per API key, counted in MongoDB so every API process shares the count (fixed one-minute
 * windows; docs/authentication.md, "Throttling"). In front of the store, one process makes at most one store call
 * per key at a time: requests arriving meanwhile are counted together by the next call and admitted in arrival
 * order. That keeps the count exact within a process on FerretDB, whose findAndModify reads and then writes
 * without isolation, and costs one store write per key per round trip rather than per request. A key over its
 * limit is refused from memory for the rest of its window.
 */
export class RequestRateLimiter {
  private readonly byLimit = new Map<number, RateLimiterMongoById>();
  private readonly batches = new Map<string, Batch>();

  constructor(private readonly db: Db) {}

  /** Counts one request of `keyId`; when it is over `perMinute`, the whole seconds to wait before retrying. */
  take(keyId: string, perMinute: number): Promise<number | undefined> {
    const id = `${perMinute}:${keyId}`;
    return new Promise((resolve, reject) => {
      const queued = this.batches.get(id);
      if (queued) {
        queued.waiting.push(resolve);
        queued.failed.push(reject);
        return;
      }
      const batch: Batch = { limiter: this.limiterFor(perMinute), waiting: [resolve], failed: [reject] };
      this.batches.set(id, batch);
      void this.drain(id, keyId, batch);
    });
  }

  private async drain(id: string, keyId: string, batch: Batch): Promise<void> {
    // The first request of a batch goes alone; the ones that queued behind its store call go together next.
    while (batch.waiting.length > 0) {
      const waiting = batch.waiting.splice(0);
      const failed = batch.failed.splice(0);
      try {
        await batch.limiter.consume(keyId, waiting.length);
        for (const resolve of waiting) resolve(undefined);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) {
          for (const reject of failed) reject(err);
          continue;
        }
        // A refusal from memory carries no count: none of the batch fits. From the store, the first ones may.
        const before = err.consumedPoints - waiting.length;
        const admitted =
          err.consumedPoints === 0 ? 0 : Math.min(waiting.length, Math.max(0, batch.limiter.points - before));
        waiting.forEach((resolve, i) => resolve(i < admitted ? undefined : retryAfterSeconds(err)));
      }
    }
    this.batches.delete(id);
  }

  private limiterFor(perMinute: number): RateLimiterMongoById {
    let limiter = this.byLimit.get(perMinute);
    if (!limiter) {
      if (this.byLimit.size >= MAX_DISTINCT_LIMITS) this.byLimit.delete(this.byLimit.keys().next().value!);
      // One counter per key whatever its limit: a changed limit applies to the window already open.
      limiter = new RateLimiterMongoById(this.db, {
        keyPrefix: 'requests',
        points: perMinute,
        duration: 60,
        inMemoryBlockOnConsumed: perMinute,
      });
      this.byLimit.set(perMinute, limiter);
    }
    return limiter;
  }
}

/**
 * After the key and account checks: a key over its account's request rate (or the configured default) gets
 * code 9 `Too many requests, retry later` with `Retry-After` in seconds (docs/authentication.md, "Throttling").
 */
export function requestRateLimit(
  limiter: RequestRateLimiter,
  defaultPerMinute: number,
  metrics?: ApiMetrics,
): Middleware<EproState> {
  return async (ctx, next) => {
    const { keyId, merchant } = ctx.state.principal;
    const retryAfter = await limiter.take(keyId, merchant.rateLimitPerMinute ?? defaultPerMinute);
    if (retryAfter !== undefined) {
      metrics?.throttled.inc({ reason: 'rate_limit' });
      ctx.set('Retry-After', String(retryAfter));
      throw errors.tooManyRequests();
    }
    await next();
  };
}
