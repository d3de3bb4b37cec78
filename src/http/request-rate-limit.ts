import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RateLimiterMongoById } from '../auth/rate-limit-store';
import { errors } from '../epro/errors';
import type { ApiMetrics } from '../metrics/api-metrics';
import type { EproState } from './epro-middleware';

// Accounts share a handful of distinct limits; the bound only guards against a pathological configuration.
const MAX_DISTINCT_LIMITS = 1000;
// Keys a process keeps a count for (its lease, its recent rate); the oldest go first past this.
const MAX_TRACKED_KEYS = 10_000;

/**
 * How far ahead a process counts a key's requests in the shared count: about this much of the key's own recent
 * traffic through this process, and never more than LEASE_SHARE of what the key had left in its window.
 */
export const LEASE_HORIZON_MS = 1000;
const LEASE_SHARE = 1 / 4;
// The rate is read over at least this long: a burst between two close store calls is not taken for a trend.
const MIN_RATE_WINDOW_MS = 100;

/** A request waiting for the store call: it learns the seconds to wait (undefined: admitted), or the store's error. */
interface Waiter {
  resolve: (retryAfter: number | undefined) => void;
  reject: (err: unknown) => void;
}

/** One key (at one limit) in this process: the requests waiting for the store call, and the points leased. */
interface KeyCount {
  limiter: RateLimiterMongoById;
  waiting: Waiter[];
  draining: boolean;
  /** Points already counted in the shared count for this process's next requests, until `leaseUntil`. */
  lease: number;
  leaseUntil: number;
  /** Requests seen since `seenSince`: the key's recent rate through this process. */
  seen: number;
  seenSince: number;
  /** What the key had left in its window at the last store call; undefined before the first. */
  left: number | undefined;
}

const retryAfterSeconds = (res: RateLimiterRes) => Math.max(1, Math.ceil(res.msBeforeNext / 1000));

/**
 * Requests per minute per API key, counted in MongoDB so every API process shares the count (fixed one-minute
 * windows; docs/authentication.md, "Throttling"). A store call per request would cost more than the request it
 * guards (a status read), so a process counts ahead: each store call adds, besides the requests waiting for it,
 * a lease of points for the requests it expects next — about LEASE_HORIZON_MS of the key's traffic through this
 * process, and at most a quarter of what the key has left, so a key near its limit is counted one call at a time
 * and exactly. Requests are admitted from the lease without a store call until it is spent or the window ends
 * (an ended window's lease is dropped unused). What a lease costs: points leased by a process whose traffic then
 * stops count as used until the window ends, at most LEASE_HORIZON_MS of that process's traffic.
 *
 * One process makes at most one store call per key at a time: requests arriving meanwhile are counted together by
 * the next call and admitted in arrival order. That keeps the count exact within a process on FerretDB, whose
 * findAndModify reads and then writes without isolation. A key over its limit is refused from memory for the rest
 * of its window.
 */
export class RequestRateLimiter {
  private readonly byLimit = new Map<number, RateLimiterMongoById>();
  private readonly keys = new Map<string, KeyCount>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts one request of `keyId`; when it is over `perMinute`, the whole seconds to wait before retrying. */
  take(keyId: string, perMinute: number): Promise<number | undefined> {
    const count = this.countFor(keyId, perMinute);
    count.seen++;
    if (count.lease > 0 && this.now() < count.leaseUntil && count.waiting.length === 0) {
      count.lease--;
      return Promise.resolve(undefined);
    }
    return new Promise((resolve, reject) => {
      count.waiting.push({ resolve, reject });
      if (!count.draining) void this.drain(keyId, count);
    });
  }

  private countFor(keyId: string, perMinute: number): KeyCount {
    const id = `${perMinute}:${keyId}`;
    let count = this.keys.get(id);
    if (!count) {
      if (this.keys.size >= MAX_TRACKED_KEYS) this.forgetOldestIdleKey();
      count = {
        limiter: this.limiterFor(perMinute),
        waiting: [],
        draining: false,
        lease: 0,
        leaseUntil: 0,
        seen: 0,
        seenSince: this.now(),
        left: undefined,
      };
      this.keys.set(id, count);
    }
    return count;
  }

  /**
   * Makes room past MAX_TRACKED_KEYS. A key whose store call is in flight stays: forgotten, its next request would
   * start a second call for the same key beside the first, and this process's count would no longer be exact.
   */
  private forgetOldestIdleKey(): void {
    for (const [id, count] of this.keys)
      if (!count.draining) {
        this.keys.delete(id);
        return;
      }
  }

  /** The points to lease beyond the requests waiting: none before the key's headroom is known. */
  private leaseWanted(count: KeyCount): number {
    if (count.left === undefined) return 0;
    const elapsed = Math.max(MIN_RATE_WINDOW_MS, this.now() - count.seenSince);
    const expected = Math.floor((count.seen * LEASE_HORIZON_MS) / elapsed);
    return Math.min(expected, Math.floor(count.left * LEASE_SHARE));
  }

  private async drain(keyId: string, count: KeyCount): Promise<void> {
    count.draining = true;
    // The first request of a batch goes alone; the ones that queued behind its store call go together next.
    while (count.waiting.length > 0) {
      // An unspent lease of the same window pays for waiting requests first.
      if (this.now() >= count.leaseUntil) count.lease = 0;
      while (count.lease > 0 && count.waiting.length > 0) {
        count.lease--;
        count.waiting.shift()!.resolve(undefined);
      }
      if (count.waiting.length === 0) break;
      const waiting = count.waiting.splice(0);
      const ahead = this.leaseWanted(count);
      count.seen = 0;
      count.seenSince = this.now();
      const asked = waiting.length + ahead;
      try {
        const res = await count.limiter.consume(keyId, asked);
        this.lease(count, ahead, res);
        for (const waiter of waiting) waiter.resolve(undefined);
      } catch (err) {
        if (!(err instanceof RateLimiterRes)) {
          for (const waiter of waiting) waiter.reject(err);
          continue;
        }
        // A refusal from memory carries no count: none of the batch fits. From the store, the first ones may.
        const fits = err.consumedPoints === 0 ? 0 : Math.max(0, count.limiter.points - (err.consumedPoints - asked));
        const admitted = Math.min(waiting.length, fits);
        this.lease(count, fits - admitted, err);
        waiting.forEach((waiter, i) => waiter.resolve(i < admitted ? undefined : retryAfterSeconds(err)));
      }
    }
    count.draining = false;
  }

  /** Keeps `points` counted in the window the store call `res` counted in, for this process's next requests. */
  private lease(count: KeyCount, points: number, res: RateLimiterRes): void {
    // A refusal from memory (no count) means the key had nothing left.
    count.left = res.consumedPoints === 0 ? 0 : Math.max(0, count.limiter.points - res.consumedPoints);
    count.lease = points;
    count.leaseUntil = this.now() + res.msBeforeNext;
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
