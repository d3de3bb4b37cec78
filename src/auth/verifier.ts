import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { Db } from 'mongodb';
import { hmacSha256Hex } from '../crypto';
import { apiKeys } from '../store/api-keys';
import { findMerchant, type MerchantDoc } from '../store/merchants';
import { type Mode, parseApiKey } from './key-format';

export interface Principal {
  keyId: string;
  mode: Mode;
  merchant: MerchantDoc;
}

export type VerifyResult = { ok: true; principal: Principal } | { ok: false; reason: 'missing' | 'invalid' };

interface CacheEntry {
  principal: Principal;
  cachedUntil: number;
  /** End of the key's rotation grace period, re-checked on every hit. */
  keyExpiresAt: number | null;
}

const MAX_CACHE_ENTRIES = 10_000;

/**
 * Verifies `epro-api-key` values. Argon2id is deliberately slow, so a verified key is remembered for at most
 * `ttlMs` (≤ 60 s, the revocation bound of the contract) under an HMAC of the key with a per-process random
 * secret: the cache never holds a key, nor a digest that could be checked offline.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly digestKey = randomBytes(32);

  constructor(
    private readonly db: Db,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(raw: string | undefined): Promise<VerifyResult> {
    const key = raw?.trim() ?? '';
    if (key === '') return { ok: false, reason: 'missing' };
    const parsed = parseApiKey(key);
    if (!parsed) return { ok: false, reason: 'invalid' };

    const digest = hmacSha256Hex(this.digestKey, key);
    const now = this.now();
    const hit = this.cache.get(digest);
    if (hit && hit.cachedUntil > now && (hit.keyExpiresAt === null || hit.keyExpiresAt > now)) {
      return { ok: true, principal: hit.principal };
    }
    this.cache.delete(digest);

    const doc = await apiKeys(this.db).findOne({ _id: parsed.keyId });
    if (!doc || doc.mode !== parsed.mode || doc.revokedAt !== null) return { ok: false, reason: 'invalid' };
    if (doc.expiresAt !== null && doc.expiresAt.getTime() <= now) return { ok: false, reason: 'invalid' };
    if (!(await argon2.verify(doc.hash, key))) return { ok: false, reason: 'invalid' };
    const merchant = await findMerchant(this.db, doc.merchantId);
    if (!merchant) return { ok: false, reason: 'invalid' };

    const principal: Principal = { keyId: doc._id, mode: doc.mode, merchant };
    if (this.cache.size >= MAX_CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(digest, { principal, cachedUntil: now + this.ttlMs, keyExpiresAt: doc.expiresAt?.getTime() ?? null });
    return { ok: true, principal };
  }

  /** Drops every cached verification (after a revocation or rotation made in this process). */
  clear(): void {
    this.cache.clear();
  }
}
