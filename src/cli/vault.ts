import type { Command } from 'commander';
import type { Db } from 'mongodb';
import { resealWebhookSecrets, webhookSecretsByKeyId } from '../auth/accounts';
import { processorSecretsByKeyId, resealProcessorCredentials } from '../auth/processor-credentials';
import { type KeyRing, LEGACY_KEY_ID } from '../keyring';
import { cardEntriesByKeyId } from '../store/vault';
import { print, withMongo } from './shared';

/**
 * What is sealed under which vault master key, and which retired masters may be dropped from VAULT_KEYS_PREVIOUS.
 * A retired key is still needed while anything is sealed under its id, or while legacy `v1` values remain (they
 * name no key, so any retired master could be the one they need).
 */
export interface VaultKeyStatus {
  currentKeyId: string;
  retiredKeyIds: string[];
  webhookSecrets: Record<string, number>;
  /** Merchants' processor secret keys and webhook signing secrets (those still verifying). */
  processorCredentials: Record<string, number>;
  cardData: Record<string, number>;
  /** Retired key ids something is still sealed under: keep them configured. */
  retiredKeysInUse: string[];
  /** Retired key ids nothing needs any more: safe to remove from VAULT_KEYS_PREVIOUS. */
  retiredKeysRemovable: string[];
  /** Key ids values are sealed under that no configured key matches: those values no longer open. */
  missingKeyIds: string[];
}

export async function vaultKeyStatus(db: Db, keys: KeyRing): Promise<VaultKeyStatus> {
  const [webhookSecrets, processorCredentials, cardData] = await Promise.all([
    webhookSecretsByKeyId(db),
    processorSecretsByKeyId(db),
    cardEntriesByKeyId(db),
  ]);
  const used = new Set([
    ...Object.keys(webhookSecrets),
    ...Object.keys(processorCredentials),
    ...Object.keys(cardData),
  ]);
  const legacyLeft = used.has(LEGACY_KEY_ID);
  const inUse = keys.retiredKeyIds.filter((id) => used.has(id) || legacyLeft);
  return {
    currentKeyId: keys.currentKeyId,
    retiredKeyIds: [...keys.retiredKeyIds],
    webhookSecrets,
    processorCredentials,
    cardData,
    retiredKeysInUse: inUse,
    retiredKeysRemovable: keys.retiredKeyIds.filter((id) => !inUse.includes(id)),
    missingKeyIds: [...used].filter((id) => !keys.hasKey(id)),
  };
}

const counts = (byKey: Record<string, number>, keys: KeyRing) =>
  Object.entries(byKey).length === 0
    ? 'none'
    : Object.entries(byKey)
        .map(
          ([id, n]) =>
            `${n} under ${id}${id === keys.currentKeyId ? ' (current)' : id === LEGACY_KEY_ID ? ' (legacy, no key id)' : keys.hasKey(id) ? ' (retired)' : ' (NOT CONFIGURED)'}`,
        )
        .join(', ');

function describe(status: VaultKeyStatus, keys: KeyRing): string[] {
  return [
    `current key      ${status.currentKeyId}`,
    `retired keys     ${status.retiredKeyIds.join(', ') || 'none'}`,
    `webhook secrets  ${counts(status.webhookSecrets, keys)}`,
    `processor creds  ${counts(status.processorCredentials, keys)}`,
    `card data        ${counts(status.cardData, keys)} (entries not yet expired)`,
    ...status.retiredKeysInUse.map((id) => `keep ${id} in VAULT_KEYS_PREVIOUS: values are still sealed under it`),
    ...status.retiredKeysRemovable.map(
      (id) => `${id} may be removed from VAULT_KEYS_PREVIOUS: nothing is sealed under it`,
    ),
    ...status.missingKeyIds.map(
      (id) => `WARNING: values are sealed under ${id}, which is not configured: they cannot be opened`,
    ),
  ];
}

/** `vault status` and `vault rotate-key`: rotating the vault master key (docs/runbook.md, "Rotating the vault key"). */
export function registerVaultCommands(program: Command): void {
  const vault = program
    .command('vault')
    .description('the vault master key: what is sealed under which key, and its rotation');
  vault
    .command('status')
    .description(
      'count webhook secrets, processor credentials and card data per vault key id, and say which retired keys may be dropped',
    )
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) =>
      withMongo(async ({ db }, config) => {
        const status = await vaultKeyStatus(db, config.vaultKeys);
        print(!!opts.json, { ...status }, describe(status, config.vaultKeys).join('\n'));
        if (status.missingKeyIds.length > 0) process.exitCode = 1;
      }),
    );
  vault
    .command('rotate-key')
    .description(
      "reseal every merchant's webhook secrets and processor credentials under the current VAULT_KEY (idempotent, safe under traffic); card data expires with its payment",
    )
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) =>
      withMongo(async ({ db }, config) => {
        const resealed = await resealWebhookSecrets(db, config.vaultKeys);
        const processors = await resealProcessorCredentials(db, config.vaultKeys);
        const status = await vaultKeyStatus(db, config.vaultKeys);
        print(
          !!opts.json,
          {
            ...resealed,
            processorCredentialsResealed: processors.resealed,
            processorCredentialsFailed: processors.failed,
            ...status,
          },
          [
            `resealed ${resealed.resealed} webhook secret(s) of ${resealed.merchants} merchant(s) under ${status.currentKeyId}`,
            ...resealed.failed.map((f) => `FAILED ${f.merchantId}: ${f.error}`),
            `resealed ${processors.resealed} processor secret(s) of ${processors.documents} processor account(s) under ${status.currentKeyId}`,
            ...processors.failed.map((f) => `FAILED ${f.merchantId} ${f.connector} ${f.mode}: ${f.error}`),
            ...describe(status, config.vaultKeys),
          ].join('\n'),
        );
        if (resealed.failed.length > 0 || processors.failed.length > 0 || status.missingKeyIds.length > 0)
          process.exitCode = 1;
      }),
    );
}
