import argon2 from 'argon2';
import type { Db } from 'mongodb';
import type { Config } from '../config';
import { open, randomBase62, seal } from '../crypto';
import { apiKeys } from '../store/api-keys';
import { type MerchantDoc, merchants, type WebhookSecretEntry } from '../store/merchants';
import { generateApiKey, generateWebhookSecret, type Mode } from './key-format';

/**
 * Account administration: the admin command and the demo seeding of `npm start` both go through here, so there
 * is one way to create a merchant and one way to issue, rotate and revoke its secrets.
 */

// OWASP's argon2id baseline (19 MiB, t=2, p=1). Keys carry ~190 random bits, so the hash guards a leaked
// database rather than weak secrets; its cost is paid once per key per minute thanks to the verified-key cache.
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface CreateMerchantInput {
  name: string;
  currency?: string;
  maxAmount?: number | null;
  threeDSAllowed?: boolean;
  requiredFields?: string[];
  /** Issue a live key too (live payments still need a connector, else code 7). */
  live?: boolean;
  liveConnector?: string | null;
  threeDSTimeoutMs?: number;
  refundWindowMs?: number;
}

export interface CreatedMerchant {
  merchantId: string;
  testKey: string;
  liveKey: string | null;
  webhookSecret: string;
}

function webhookSecretContext(merchantId: string, secretId: string): string {
  return `webhook-secret:${merchantId}:${secretId}`;
}

export async function issueApiKey(db: Db, merchantId: string, mode: Mode): Promise<string> {
  const { key, keyId } = generateApiKey(mode);
  await apiKeys(db).insertOne({
    _id: keyId,
    merchantId,
    mode,
    hash: await argon2.hash(key, ARGON2_OPTIONS),
    createdAt: new Date(),
    expiresAt: null,
    revokedAt: null,
  });
  return key;
}

function newWebhookSecret(config: Config, merchantId: string): { plain: string; entry: WebhookSecretEntry } {
  const plain = generateWebhookSecret();
  const id = `whs_${randomBase62(12)}`;
  return {
    plain,
    entry: { id, sealed: seal(config.vaultKey, plain, webhookSecretContext(merchantId, id)), createdAt: new Date(), expiresAt: null },
  };
}

export async function createMerchant(db: Db, config: Config, input: CreateMerchantInput): Promise<CreatedMerchant> {
  const merchantId = `mer_${randomBase62(16)}`;
  const secret = newWebhookSecret(config, merchantId);
  const doc: MerchantDoc = {
    _id: merchantId,
    name: input.name,
    status: 'active',
    currency: (input.currency ?? config.accountDefaults.currency).toUpperCase(),
    maxAmount: input.maxAmount ?? null,
    threeDSAllowed: input.threeDSAllowed ?? true,
    requiredFields: input.requiredFields ?? [],
    threeDSTimeoutMs: input.threeDSTimeoutMs ?? config.accountDefaults.threeDSTimeoutMs,
    refundWindowMs: input.refundWindowMs ?? config.accountDefaults.refundWindowMs,
    liveConnector: input.liveConnector ?? null,
    webhookSecrets: [secret.entry],
    createdAt: new Date(),
  };
  await merchants(db).insertOne(doc);
  const testKey = await issueApiKey(db, merchantId, 'test');
  const liveKey = input.live || input.liveConnector ? await issueApiKey(db, merchantId, 'live') : null;
  return { merchantId, testKey, liveKey, webhookSecret: secret.plain };
}

/**
 * Issues a new key for the merchant and mode; the keys it replaces keep working until the grace period ends,
 * so a merchant can deploy the new key without downtime.
 */
export async function rotateApiKey(db: Db, merchantId: string, mode: Mode, graceMs: number): Promise<{ key: string; oldKeysExpireAt: Date }> {
  const oldKeysExpireAt = new Date(Date.now() + graceMs);
  await apiKeys(db).updateMany(
    { merchantId, mode, revokedAt: null, expiresAt: null },
    { $set: { expiresAt: oldKeysExpireAt } },
  );
  return { key: await issueApiKey(db, merchantId, mode), oldKeysExpireAt };
}

/** Revokes at once (API processes stop accepting it within the verified-key cache bound, 60 s at most). */
export async function revokeApiKey(db: Db, keyId: string): Promise<boolean> {
  const result = await apiKeys(db).updateOne({ _id: keyId, revokedAt: null }, { $set: { revokedAt: new Date() } });
  return result.modifiedCount === 1;
}

/** Adds a new webhook secret; the current ones stay valid (and keep signing) until the grace period ends. */
export async function rotateWebhookSecret(db: Db, config: Config, merchantId: string, graceMs: number): Promise<{ webhookSecret: string; oldSecretsExpireAt: Date }> {
  const merchant = await merchants(db).findOne({ _id: merchantId });
  if (!merchant) throw new Error(`no merchant ${merchantId}`);
  const now = Date.now();
  const oldSecretsExpireAt = new Date(now + graceMs);
  const kept = merchant.webhookSecrets
    .filter((s) => s.expiresAt === null || s.expiresAt.getTime() > now)
    .map((s) => (s.expiresAt === null ? { ...s, expiresAt: oldSecretsExpireAt } : s));
  const secret = newWebhookSecret(config, merchantId);
  await merchants(db).updateOne({ _id: merchantId }, { $set: { webhookSecrets: [...kept, secret.entry] } });
  return { webhookSecret: secret.plain, oldSecretsExpireAt };
}

/** The secrets that sign a webhook now: the newest first, then any still inside their grace period. */
export function activeWebhookSecrets(vaultKey: Buffer, merchant: MerchantDoc, now = Date.now()): string[] {
  return merchant.webhookSecrets
    .filter((s) => s.expiresAt === null || s.expiresAt.getTime() > now)
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map((s) => open(vaultKey, s.sealed, webhookSecretContext(merchant._id, s.id)));
}

export async function setMerchantStatus(db: Db, merchantId: string, status: MerchantDoc['status']): Promise<boolean> {
  const result = await merchants(db).updateOne({ _id: merchantId }, { $set: { status } });
  return result.matchedCount === 1;
}
