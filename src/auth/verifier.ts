import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { Db } from 'mongodb';
import type { Config } from '../config';
import type { ApiMetrics } from '../metrics/api-metrics';
import { hmacSha256Hex } from '../crypto';
import { apiKeys } from '../store/api-keys';
import { findMerchant, type MerchantDoc } from '../store/merchants';
import { parseApiKey } from './key-format';
import type { Mode } from '../../workflows/vocabulary';
import { KeyCheckThrottle } from './key-check-throttle';
import { VerificationSlots } from './verification-slots';

export interface Principal {
  keyId: string;
  mode: Mode;
  merchant: MerchantDoc;
}

/** `busy`: every Argon2id slot is taken and the queue is full; the caller answers 9 and retries. */
export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: 'missing' | 'invalid' | 'busy' };

export interface VerifierOptions {
  /** Verified-key cache lifetime (≤ 60 s): the bound on how late a revocation or an account change is seen. */
  ttlMs: number;
  throttle: KeyCheckThrottle;
  slots: VerificationSlots;
  /** Argon2id verification; a test passes a counting wrapper. */
  verifyHash?: (hash: string, key: string) => Promise<boolean>;
  now?: () => number;
  /** Counts cache hits and misses and lockouts (docs/metrics.md); absent in tests. */
  metrics?: Pick<ApiMetrics, 'keyCache' | 'throttled'>;
}

interface CacheEntry {
  principal: Principal;
  cachedUntil: number;
  /** End of the key's rotation grace period, re-checked on every hit. */
  keyExpiresAt: number | null;
}

const MAX_CACHE_ENTRIES = 10_000;

/**
 * Verifies `epro-api-key` values. Argon2id is deliberately slow, so a verified key is remembered for at most
 * `ttlMs` (≤ 60 s, the revocation bound of docs/authentication.md) under an HMAC of the key with a per-process
 * random secret: the cache never holds a key, nor a digest that could be checked offline.
 *
 * Wrong secrets are throttled (docs/authentication.md, "Throttling"): the cache is consulted first, so a key
 * verified in this process keeps working while its key id is locked out; then a key id or client address past its
 * failure budget is refused without running Argon2id; and Argon2id itself runs in a bounded number of slots.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly digestKey = randomBytes(32);
  private readonly ttlMs: number;
  private readonly throttle: KeyCheckThrottle;
  private readonly slots: VerificationSlots;
  private readonly verifyHash: (hash: string, key: string) => Promise<boolean>;
  private readonly now: () => number;
  private readonly metrics?: VerifierOptions['metrics'];

  constructor(
    private readonly db: Db,
    options: VerifierOptions,
  ) {
    this.ttlMs = options.ttlMs;
    this.throttle = options.throttle;
    this.slots = options.slots;
    this.verifyHash = options.verifyHash ?? ((hash, key) => argon2.verify(hash, key));
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
  }

  /** `clientAddress` is the address failures are charged to (the request's, after any trusted proxy). */
  async verify(raw: string | undefined, clientAddress: string): Promise<VerifyResult> {
    const key = raw?.trim() ?? '';
    if (key === '') return { ok: false, reason: 'missing' };
    const parsed = parseApiKey(key);
    if (!parsed) return { ok: false, reason: 'invalid' };

    const digest = hmacSha256Hex(this.digestKey, key);
    const now = this.now();
    const hit = this.cache.get(digest);
    if (hit && hit.cachedUntil > now && (hit.keyExpiresAt === null || hit.keyExpiresAt > now)) {
      this.metrics?.keyCache.inc({ result: 'hit' });
      return { ok: true, principal: hit.principal };
    }
    this.metrics?.keyCache.inc({ result: 'miss' });
    this.cache.delete(digest);

    const doc = await apiKeys(this.db).findOne({ _id: parsed.keyId });
    if (!doc || doc.mode !== parsed.mode || doc.revokedAt !== null) return { ok: false, reason: 'invalid' };
    if (doc.expiresAt !== null && doc.expiresAt.getTime() <= now) return { ok: false, reason: 'invalid' };
    // Only a known key id with a wrong secret costs an Argon2id run, so only that is counted and locked out.
    if (await this.throttle.lockedOut(doc._id, clientAddress)) {
      this.metrics?.throttled.inc({ reason: 'key_lockout' });
      return { ok: false, reason: 'invalid' };
    }
    const checked = await this.slots.run(() => this.verifyHash(doc.hash, key));
    if (!checked.ran) return { ok: false, reason: 'busy' };
    if (!checked.value) {
      await this.throttle.recordFailure(doc._id, clientAddress);
      return { ok: false, reason: 'invalid' };
    }
    const merchant = await findMerchant(this.db, doc.merchantId);
    if (!merchant) return { ok: false, reason: 'invalid' };

    const principal: Principal = { keyId: doc._id, mode: doc.mode, merchant };
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, {
      principal,
      cachedUntil: now + this.ttlMs,
      keyExpiresAt: doc.expiresAt?.getTime() ?? null,
    });
    return { ok: true, principal };
  }

  /** Drops every cached verification (after a revocation or rotation made in this process). */
  clear(): void {
    this.cache.clear();
  }
}

/** The verifier of an API process, throttled as its configuration says. */
export function createApiKeyVerifier(db: Db, config: Config, metrics?: VerifierOptions['metrics']): ApiKeyVerifier {
  const { throttle } = config;
  return new ApiKeyVerifier(db, {
    metrics,
    ttlMs: config.keyCacheTtlMs,
    throttle: new KeyCheckThrottle(db, throttle),
    slots: new VerificationSlots(throttle.argon2Concurrency, throttle.argon2Queue),
  });
}
