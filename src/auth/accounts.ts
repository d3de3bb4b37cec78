import argon2 from 'argon2';
import type { Db } from 'mongodb';
import type { Config } from '../config';
import { randomBase62 } from '../crypto';
import { type KeyRing, sealedKeyId } from '../keyring';
import { apiKeys, fileApiKey, keyIdsOf } from '../store/api-keys';
import { type MerchantDoc, merchants, type WebhookSecretEntry } from '../store/merchants';
import { generateApiKey, generateWebhookSecret } from './key-format';
import type { Mode } from '../../workflows/vocabulary';
import { stillVerifies } from './secret-grace';

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
  // Filed first: an index entry whose key was never written lists nothing, a key missing from the index would.
  await fileApiKey(db, { _id: keyId, merchantId, mode });
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
    entry: {
      id,
      sealed: config.vaultKeys.seal('webhook-secrets', plain, webhookSecretContext(merchantId, id)),
      createdAt: new Date(),
      expiresAt: null,
    },
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
export async function rotateApiKey(
  db: Db,
  merchantId: string,
  mode: Mode,
  graceMs: number,
): Promise<{ key: string; oldKeysExpireAt: Date }> {
  const oldKeysExpireAt = new Date(Date.now() + graceMs);
  await apiKeys(db).updateMany(
    { _id: { $in: await keyIdsOf(db, merchantId, mode) }, merchantId, mode, revokedAt: null, expiresAt: null },
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
export async function rotateWebhookSecret(
  db: Db,
  config: Config,
  merchantId: string,
  graceMs: number,
): Promise<{ webhookSecret: string; oldSecretsExpireAt: Date }> {
  const merchant = await merchants(db).findOne({ _id: merchantId });
  if (!merchant) throw new Error(`no merchant ${merchantId}`);
  const now = Date.now();
  const oldSecretsExpireAt = new Date(now + graceMs);
  // Kept secrets are resealed under the current vault key: this whole-list write must not undo a concurrent
  // `vault rotate-key`.
  const kept = merchant.webhookSecrets
    .filter((s) => stillVerifies(s, now))
    .map((s) => (s.expiresAt === null ? { ...s, expiresAt: oldSecretsExpireAt } : s))
    .map((s) => ({
      ...s,
      sealed: config.vaultKeys.reseal('webhook-secrets', s.sealed, webhookSecretContext(merchantId, s.id)),
    }));
  const secret = newWebhookSecret(config, merchantId);
  await merchants(db).updateOne({ _id: merchantId }, { $set: { webhookSecrets: [...kept, secret.entry] } });
  return { webhookSecret: secret.plain, oldSecretsExpireAt };
}

/** The secrets that sign a webhook now: the newest first, then any still inside their grace period. */
export function activeWebhookSecrets(keys: KeyRing, merchant: MerchantDoc, now = Date.now()): string[] {
  return merchant.webhookSecrets
    .filter((s) => stillVerifies(s, now))
    .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
    .map((s) => keys.open('webhook-secrets', s.sealed, webhookSecretContext(merchant._id, s.id)));
}

export interface ResealReport {
  merchants: number;
  /** Secrets rewritten under the current vault key by this run (0 when a previous run did it all). */
  resealed: number;
  /** Merchants whose secrets could not be opened with the configured keys (left as they are). */
  failed: { merchantId: string; error: string }[];
}

/**
 * `settleflow vault rotate-key`: reseals every merchant's webhook secrets under the current vault key. Safe while
 * traffic flows: each merchant's list is replaced only if it is still exactly what was read (a concurrent
 * `webhook-secret rotate` makes it read again), and every process configured with both keys opens either form.
 * Idempotent: secrets already under the current key are left alone.
 */
export async function resealWebhookSecrets(db: Db, keys: KeyRing): Promise<ResealReport> {
  const report: ResealReport = { merchants: 0, resealed: 0, failed: [] };
  for await (const { _id: merchantId } of merchants(db).find({}, { projection: { _id: 1 } })) {
    report.merchants++;
    try {
      report.resealed += await resealMerchant(db, keys, merchantId);
    } catch (err) {
      report.failed.push({ merchantId, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return report;
}

async function resealMerchant(db: Db, keys: KeyRing, merchantId: string): Promise<number> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const merchant = await merchants(db).findOne({ _id: merchantId }, { projection: { webhookSecrets: 1 } });
    if (!merchant) return 0;
    const current = merchant.webhookSecrets;
    const resealed = current.map((s) => ({
      ...s,
      sealed: keys.reseal('webhook-secrets', s.sealed, webhookSecretContext(merchantId, s.id)),
    }));
    const changed = resealed.filter((s, i) => s.sealed !== current[i]!.sealed).length;
    if (changed === 0) return 0;
    const result = await merchants(db).updateOne(
      { _id: merchantId, webhookSecrets: current },
      { $set: { webhookSecrets: resealed } },
    );
    if (result.matchedCount === 1) return changed;
  }
  throw new Error('webhook secrets kept changing during the reseal; run rotate-key again');
}

/** How many stored webhook secrets are sealed under each master key id (`v1`: legacy, sealed with a raw master). */
export async function webhookSecretsByKeyId(db: Db): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for await (const merchant of merchants(db).find({}, { projection: { webhookSecrets: 1 } })) {
    for (const secret of merchant.webhookSecrets) {
      const keyId = sealedKeyId(secret.sealed);
      counts[keyId] = (counts[keyId] ?? 0) + 1;
    }
  }
  return counts;
}

export async function setMerchantStatus(db: Db, merchantId: string, status: MerchantDoc['status']): Promise<boolean> {
  const result = await merchants(db).updateOne({ _id: merchantId }, { $set: { status } });
  return result.matchedCount === 1;
}
