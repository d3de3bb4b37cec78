import type { Db } from 'mongodb';

export interface WebhookSecretEntry {
  id: string;
  /** AES-GCM sealed `whsec_…`; it must be readable to sign, so it is encrypted rather than hashed. */
  sealed: string;
  createdAt: Date;
  /** Set when a newer secret replaced this one: signatures carry both until then. */
  expiresAt: Date | null;
}

export interface MerchantDoc {
  _id: string;
  name: string;
  status: 'active' | 'disabled';
  /** ISO 4217 settlement currency; amounts are integer minor units of it. */
  currency: string;
  /** Per-transaction limit in minor units (code 300), or null for none. */
  maxAmount: number | null;
  threeDSAllowed: boolean;
  /** Canonical field names the account demands on every payment (code 222 when absent). */
  requiredFields: string[];
  threeDSTimeoutMs: number;
  refundWindowMs: number;
  /** Processor connector for live payments; null means live is not set up (code 7). */
  liveConnector: string | null;
  /**
   * Processor connector for sandbox payments; absent means the simulator. Set by `merchant connect --mode test`
   * (a processor's own test mode, e.g. Stripe's), cleared by connecting the simulator again.
   */
  sandboxConnector?: string;
  /** Requests per minute per API key of this account; absent: RATE_LIMIT_PER_MINUTE (code 9 above it). */
  rateLimitPerMinute?: number;
  webhookSecrets: WebhookSecretEntry[];
  createdAt: Date;
}

export const merchants = (db: Db) => db.collection<MerchantDoc>('merchants');

export function findMerchant(db: Db, merchantId: string): Promise<MerchantDoc | null> {
  return merchants(db).findOne({ _id: merchantId });
}

/** Sets the account's per-key request limit, or with null returns it to the configured default. */
export async function setMerchantRateLimit(db: Db, merchantId: string, perMinute: number | null): Promise<boolean> {
  const update =
    perMinute === null ? { $unset: { rateLimitPerMinute: '' as const } } : { $set: { rateLimitPerMinute: perMinute } };
  const result = await merchants(db).updateOne({ _id: merchantId }, update);
  return result.matchedCount === 1;
}
