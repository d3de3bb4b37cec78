import type { Db } from 'mongodb';
import { MongoServerError } from 'mongodb';
import type { Config } from '../config';
import { randomBase62 } from '../crypto';
import { type KeyRing, sealedKeyId } from '../keyring';
import { findMerchant, merchants } from '../store/merchants';
import {
  findProcessorCredentials,
  processorCredentialsCollection,
  processorCredentialsId,
  type ProcessorCredentialsDoc,
  type ProcessorWebhookSecretEntry,
} from '../store/processor-credentials';
import type { Mode, ProcessorAccount } from '../../workflows/vocabulary';
import {
  checkStripeSecretKey,
  checkStripeWebhookSecret,
  CREDENTIAL_CONNECTORS,
  CredentialFormatError,
  type CredentialConnector,
  needsCredentials,
  stripeKeyHint,
  stripeWebhookSecretHint,
} from './processor-key-format';
import { stillVerifies } from './secret-grace';

/**
 * A merchant's processor accounts (docs/connectors.md, "Connecting a processor account"): `settleflow merchant
 * connect` stores the credentials of one connector for one mode, sealed, and makes that connector the one the
 * mode's payments go to; the worker's processor calls and the processor's webhook route read them back here.
 */

/** How long the previous webhook signing secret keeps verifying after `merchant connect` replaced it. */
export const DEFAULT_PROCESSOR_WEBHOOK_GRACE_MS = 24 * 60 * 60 * 1000; // 24h, as the CLI's help says

const sealContext = (docId: string, part: string) => `processor-credentials:${docId}:${part}`;
const secretKeyContext = (docId: string) => sealContext(docId, 'secret-key');
const webhookSecretContext = (docId: string, entryId: string) => sealContext(docId, `webhook-secret:${entryId}`);

export interface ConnectProcessorInput {
  merchantId: string;
  mode: Mode;
  connector: CredentialConnector;
  /** Both are needed the first time; later either may be left out, and the stored one is kept. */
  secretKey?: string;
  webhookSecret?: string;
  /** How long the replaced webhook secret keeps verifying (0: at once, e.g. after a leak). */
  webhookSecretGraceMs: number;
  /** A test key may connect live mode (STRIPE_ALLOW_TEST_KEYS_FOR_LIVE, refused in production): for stripe-mock. */
  allowTestKeyForLive?: boolean;
  now?: Date;
}

/** What an operator may see of a connection: hints and dates, never a secret. */
export interface ProcessorConnection {
  merchantId: string;
  mode: Mode;
  connector: string;
  keyHint: string;
  webhookSecretHint: string;
  connectedAt: Date;
  rotatedAt: Date | null;
  /** Previous webhook secrets that still verify, and until when. */
  previousWebhookSecrets: { hint: string; expiresAt: Date }[];
}

function describeConnection(doc: ProcessorCredentialsDoc, now: number): ProcessorConnection {
  const live = liveWebhookSecrets(doc, now);
  return {
    merchantId: doc.merchantId,
    mode: doc.mode,
    connector: doc.connector,
    keyHint: stripeKeyHint(doc.mode, doc.restrictedKey, doc.keyLast4),
    webhookSecretHint: live[0] ? stripeWebhookSecretHint(live[0].last4) : '(none)',
    connectedAt: doc.connectedAt,
    rotatedAt: doc.rotatedAt,
    previousWebhookSecrets: live
      .filter((s) => s.expiresAt !== null)
      .map((s) => ({ hint: stripeWebhookSecretHint(s.last4), expiresAt: s.expiresAt! })),
  };
}

/** The webhook secrets that verify now: the current one first, then previous ones inside their grace period. */
function liveWebhookSecrets(doc: Pick<ProcessorCredentialsDoc, 'webhookSecrets'>, now: number) {
  return doc.webhookSecrets
    .filter((s) => stillVerifies(s, now))
    .sort(
      (a, b) =>
        Number(a.expiresAt !== null) - Number(b.expiresAt !== null) || b.addedAt.getTime() - a.addedAt.getTime(),
    );
}

/** The mode's payments go to this connector from now on (within KEY_CACHE_TTL for API processes). */
async function routeMode(db: Db, merchantId: string, mode: Mode, connector: string | null): Promise<boolean> {
  const update =
    mode === 'live'
      ? { $set: { liveConnector: connector } }
      : connector === null || connector === 'simulator'
        ? { $unset: { sandboxConnector: '' as const } }
        : { $set: { sandboxConnector: connector } };
  const result = await merchants(db).updateOne({ _id: merchantId }, update);
  return result.matchedCount === 1;
}

/**
 * Stores (or replaces: a rotation) the merchant's credentials for the connector and mode, then points the mode's
 * payments at that connector. The credentials are written first, so a mode never routes to a connector whose
 * credentials are missing; running it again after a crash in between finishes the job.
 */
export async function connectProcessor(
  db: Db,
  keys: KeyRing,
  input: ConnectProcessorInput,
): Promise<ProcessorConnection> {
  const { merchantId, mode, connector } = input;
  if (input.secretKey === undefined && input.webhookSecret === undefined)
    throw new CredentialFormatError('no credentials given: expected the secret key and the webhook signing secret');
  const keyCheck =
    input.secretKey === undefined
      ? undefined
      : checkStripeSecretKey(input.secretKey, mode, { allowTestKeyForLive: input.allowTestKeyForLive });
  const secretCheck = input.webhookSecret === undefined ? undefined : checkStripeWebhookSecret(input.webhookSecret);
  if (!(await findMerchant(db, merchantId))) throw new Error(`no merchant ${merchantId}`);

  const docId = processorCredentialsId(merchantId, mode, connector);
  const collection = processorCredentialsCollection(db);
  for (let attempt = 0; attempt < 10; attempt++) {
    const now = input.now ?? new Date();
    const existing = await collection.findOne({ _id: docId });
    const newWebhookEntry = (secret: string, secretLast4: string): ProcessorWebhookSecretEntry => {
      const id = `pws_${randomBase62(12)}`;
      return {
        id,
        sealed: keys.seal('processor-credentials', secret, webhookSecretContext(docId, id)),
        last4: secretLast4,
        addedAt: now,
        expiresAt: null,
      };
    };
    if (!existing) {
      if (input.secretKey === undefined || input.webhookSecret === undefined)
        throw new CredentialFormatError(
          `${merchantId} has no ${connector} ${mode} credentials yet: give both the secret key and the webhook signing secret`,
        );
      const doc: ProcessorCredentialsDoc = {
        _id: docId,
        merchantId,
        mode,
        connector,
        secretKey: keys.seal('processor-credentials', input.secretKey, secretKeyContext(docId)),
        keyLast4: keyCheck!.last4,
        restrictedKey: keyCheck!.restricted,
        webhookSecrets: [newWebhookEntry(input.webhookSecret, secretCheck!.last4)],
        connectedAt: now,
        rotatedAt: null,
        updatedAt: now,
      };
      try {
        await collection.insertOne(doc);
      } catch (err) {
        // Another `merchant connect` got there first: read its document and replace it.
        if (err instanceof MongoServerError && err.code === 11000) continue;
        throw err;
      }
      await routeMode(db, merchantId, mode, connector);
      return describeConnection(doc, now.getTime());
    }

    // Everything kept is resealed under the current vault key: this whole-document write must not undo a
    // concurrent `vault rotate-key`.
    const nowMs = now.getTime();
    const graceEnd = new Date(nowMs + input.webhookSecretGraceMs);
    let webhookSecrets = liveWebhookSecrets(existing, nowMs).map((s) => ({
      ...s,
      sealed: keys.reseal('processor-credentials', s.sealed, webhookSecretContext(docId, s.id)),
    }));
    const current = webhookSecrets.find((s) => s.expiresAt === null);
    const unchanged =
      input.webhookSecret === undefined ||
      (current !== undefined &&
        keys.open('processor-credentials', current.sealed, webhookSecretContext(docId, current.id)) ===
          input.webhookSecret);
    if (!unchanged) {
      // The replaced secrets verify until the grace period ends (never longer than they already would).
      webhookSecrets = [
        newWebhookEntry(input.webhookSecret!, secretCheck!.last4),
        ...webhookSecrets
          .map((s) => ({
            ...s,
            expiresAt: s.expiresAt === null || s.expiresAt.getTime() > graceEnd.getTime() ? graceEnd : s.expiresAt,
          }))
          .filter((s) => s.expiresAt.getTime() > nowMs),
      ];
    }
    const doc: ProcessorCredentialsDoc = {
      ...existing,
      secretKey:
        input.secretKey === undefined
          ? keys.reseal('processor-credentials', existing.secretKey, secretKeyContext(docId))
          : keys.seal('processor-credentials', input.secretKey, secretKeyContext(docId)),
      keyLast4: keyCheck?.last4 ?? existing.keyLast4,
      restrictedKey: keyCheck?.restricted ?? existing.restrictedKey,
      webhookSecrets,
      rotatedAt: now,
      updatedAt: now.getTime() === existing.updatedAt.getTime() ? new Date(nowMs + 1) : now,
    };
    const replaced = await collection.replaceOne({ _id: docId, updatedAt: existing.updatedAt }, doc);
    if (replaced.matchedCount !== 1) continue;
    await routeMode(db, merchantId, mode, connector);
    return describeConnection(doc, nowMs);
  }
  throw new Error(`the ${connector} ${mode} credentials of ${merchantId} kept changing: run merchant connect again`);
}

/**
 * Sends the mode's payments to a connector that needs no credentials (the simulator): the way back from a
 * processor's test mode. Stored credentials are kept, so payments already made through the processor can still be
 * captured, refunded and their events verified.
 */
export async function connectWithoutCredentials(
  db: Db,
  merchantId: string,
  mode: Mode,
  connector: string,
): Promise<void> {
  if (needsCredentials(connector))
    throw new Error(`${connector} needs the account's credentials: pipe them to merchant connect`);
  if (!(await routeMode(db, merchantId, mode, connector))) throw new Error(`no merchant ${merchantId}`);
}

/**
 * Stops routing the mode's payments to any processor: live payments answer 7 (not set up), sandbox payments go
 * back to the simulator. With `forget`, the mode's stored credentials are deleted too, after the routing changed:
 * payments already made through the processor can then no longer be captured or refunded through SettleFlow.
 */
export async function disconnectProcessor(
  db: Db,
  merchantId: string,
  mode: Mode,
  options: { forget: boolean },
): Promise<{ forgotten: number }> {
  if (!(await routeMode(db, merchantId, mode, null))) throw new Error(`no merchant ${merchantId}`);
  if (!options.forget) return { forgotten: 0 };
  // One delete by `_id` each: FerretDB on SQLite uses the `_id` index for exact matches only.
  let forgotten = 0;
  for (const connector of CREDENTIAL_CONNECTORS) {
    const id = processorCredentialsId(merchantId, mode, connector);
    forgotten += (await processorCredentialsCollection(db).deleteOne({ _id: id })).deletedCount;
  }
  return { forgotten };
}

/** The merchant's stored connections, as an operator may see them (hints and dates only). */
export async function processorConnections(
  db: Db,
  merchantId: string,
  now = Date.now(),
): Promise<ProcessorConnection[]> {
  const reads = (['test', 'live'] as const).flatMap((mode) =>
    CREDENTIAL_CONNECTORS.map((connector) => findProcessorCredentials(db, merchantId, mode, connector)),
  );
  const docs = (await Promise.all(reads)).filter((doc) => doc !== null);
  return docs.map((doc) => describeConnection(doc, now));
}

// ---- Readers: the worker's processor calls and the processor's webhook route --------------------------------

export interface ProcessorCredentials {
  secretKey: string;
  /** The current webhook signing secret. */
  webhookSecret: string;
}

/** Credentials opened, with every webhook secret that verifies and until when (checked again at each use). */
export interface OpenedCredentials {
  secretKey: string;
  webhookSecrets: { secret: string; expiresAt: number | null }[];
}

async function openCredentials(
  db: Db,
  keys: KeyRing,
  account: ProcessorAccount,
  connector: string,
  now: number,
): Promise<OpenedCredentials | null> {
  const doc = await findProcessorCredentials(db, account.merchantId, account.mode, connector);
  if (!doc) return null;
  return {
    secretKey: keys.open('processor-credentials', doc.secretKey, secretKeyContext(doc._id)),
    // Expired entries are never opened: once past its grace period a secret may be sealed under a dropped key.
    webhookSecrets: liveWebhookSecrets(doc, now).map((s) => ({
      secret: keys.open('processor-credentials', s.sealed, webhookSecretContext(doc._id, s.id)),
      expiresAt: s.expiresAt?.getTime() ?? null,
    })),
  };
}

function activeSecrets(opened: OpenedCredentials, now: number): string[] {
  return opened.webhookSecrets.filter((s) => s.expiresAt === null || s.expiresAt > now).map((s) => s.secret);
}

function toCredentials(opened: OpenedCredentials | null, now: number): ProcessorCredentials | null {
  if (!opened) return null;
  const [webhookSecret] = activeSecrets(opened, now);
  return { secretKey: opened.secretKey, webhookSecret: webhookSecret ?? '' };
}

/** The merchant's credentials for the connector in the mode, read and opened now; null when none are stored. */
export async function processorCredentials(
  db: Db,
  keys: KeyRing,
  account: ProcessorAccount,
  connector: string,
): Promise<ProcessorCredentials | null> {
  const now = Date.now();
  return toCredentials(await openCredentials(db, keys, account, connector, now), now);
}

/**
 * The webhook signing secrets an event of the merchant's processor account may be signed with now: the current one
 * first, then the previous one(s) still inside their grace period. Empty when none are stored.
 */
export async function processorWebhookSecrets(
  db: Db,
  keys: KeyRing,
  account: ProcessorAccount,
  connector: string,
): Promise<string[]> {
  const now = Date.now();
  const opened = await openCredentials(db, keys, account, connector, now);
  return opened ? activeSecrets(opened, now) : [];
}

/** A processor call for an account that has no credentials for its connector (never connected, or forgotten). */
export class MissingProcessorCredentialsError extends Error {
  constructor(account: ProcessorAccount | undefined, connector: string) {
    super(
      account
        ? `merchant ${account.merchantId} has no ${connector} credentials for ${account.mode} mode: run settleflow merchant connect --merchant ${account.merchantId} --connector ${connector} --mode ${account.mode}`
        : `a ${connector} call without a processor account: only simulator payments predate accounts`,
    );
    this.name = 'MissingProcessorCredentialsError';
  }
}

export type CredentialsLoader = (
  account: ProcessorAccount,
  connector: string,
  now: number,
) => Promise<OpenedCredentials | null>;

interface CacheEntry {
  value: Promise<OpenedCredentials | null>;
  cachedUntil: number;
}

const MAX_CACHE_ENTRIES = 10_000;

/**
 * Credentials are needed by every processor call, so a process keeps them opened for `ttlMs` (KEY_CACHE_TTL, the
 * bound docs/authentication.md gives every account change): a `merchant connect` that rotates them is in use
 * everywhere within that time. Absent credentials are not remembered, so a merchant connected a moment ago is
 * served at once. Concurrent reads of one account share one database read.
 *
 * Private fields: a cache logged or printed by mistake shows no secret.
 */
export class ProcessorCredentialCache {
  readonly #entries = new Map<string, CacheEntry>();
  readonly #load: CredentialsLoader;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(load: CredentialsLoader, options: { ttlMs: number; now?: () => number }) {
    this.#load = load;
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  async #opened(account: ProcessorAccount, connector: string): Promise<OpenedCredentials | null> {
    const id = processorCredentialsId(account.merchantId, account.mode, connector);
    const now = this.#now();
    const hit = this.#entries.get(id);
    if (hit && hit.cachedUntil > now) return hit.value;
    this.#entries.delete(id);
    const entry: CacheEntry = { value: this.#load(account, connector, now), cachedUntil: now + this.#ttlMs };
    if (this.#entries.size >= MAX_CACHE_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(id, entry);
    const forget = () => {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
    };
    entry.value.then((value) => value === null && forget(), forget);
    return entry.value;
  }

  /** The account's credentials for the connector, or null when it has none. */
  async credentials(account: ProcessorAccount, connector: string): Promise<ProcessorCredentials | null> {
    return toCredentials(await this.#opened(account, connector), this.#now());
  }

  /** The account's credentials; throws MissingProcessorCredentialsError when it has none. */
  async require(account: ProcessorAccount | undefined, connector: string): Promise<ProcessorCredentials> {
    const found = account ? await this.credentials(account, connector) : null;
    if (!found) throw new MissingProcessorCredentialsError(account, connector);
    return found;
  }

  /** processorWebhookSecrets, cached; a grace period's end applies at once, not a TTL later. */
  async webhookSecrets(account: ProcessorAccount, connector: string): Promise<string[]> {
    const opened = await this.#opened(account, connector);
    return opened ? activeSecrets(opened, this.#now()) : [];
  }

  /** What a connector takes as its `credentials` option: the secret key of the call's account. */
  secretKeys(connector: string): (account: ProcessorAccount | undefined) => Promise<{ secretKey: string }> {
    return async (account) => ({ secretKey: (await this.require(account, connector)).secretKey });
  }

  /** Forgets one account's entry (say, after the processor refused its key): the next read goes to the database. */
  invalidate(account: ProcessorAccount, connector: string): void {
    this.#entries.delete(processorCredentialsId(account.merchantId, account.mode, connector));
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The cache of a worker or API process, over the database, with the configured KEY_CACHE_TTL. */
export function createProcessorCredentialCache(
  db: Db,
  config: Pick<Config, 'vaultKeys' | 'keyCacheTtlMs'>,
  options: { ttlMs?: number } = {},
): ProcessorCredentialCache {
  return new ProcessorCredentialCache(
    (account, connector, now) => openCredentials(db, config.vaultKeys, account, connector, now),
    {
      ttlMs: options.ttlMs ?? config.keyCacheTtlMs,
    },
  );
}

// ---- `settleflow vault`: resealing and counting -------------------------------------------------------------

export interface ProcessorResealReport {
  /** Stored credential documents (one per merchant, mode and connector). */
  documents: number;
  /** Sealed values rewritten under the current vault key by this run. */
  resealed: number;
  failed: { merchantId: string; mode: Mode; connector: string; error: string }[];
}

/**
 * `settleflow vault rotate-key`: reseals every stored processor secret under the current vault key, with the same
 * guarantees as for webhook secrets (src/auth/accounts.ts, resealWebhookSecrets): each document is replaced only if
 * it is still what was read, and it is idempotent. Webhook secrets past their grace period are dropped, not
 * resealed: nothing opens them any more.
 */
export async function resealProcessorCredentials(
  db: Db,
  keys: KeyRing,
  now = Date.now(),
): Promise<ProcessorResealReport> {
  const report: ProcessorResealReport = { documents: 0, resealed: 0, failed: [] };
  const collection = processorCredentialsCollection(db);
  const ids = await collection.find({}, { projection: { _id: 1, merchantId: 1, mode: 1, connector: 1 } }).toArray();
  for (const { _id, merchantId, mode, connector } of ids) {
    report.documents++;
    try {
      report.resealed += await resealDocument(db, keys, _id, now);
    } catch (err) {
      report.failed.push({ merchantId, mode, connector, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return report;
}

async function resealDocument(db: Db, keys: KeyRing, docId: string, now: number): Promise<number> {
  const collection = processorCredentialsCollection(db);
  for (let attempt = 0; attempt < 10; attempt++) {
    const doc = await collection.findOne({ _id: docId });
    if (!doc) return 0;
    const secretKey = keys.reseal('processor-credentials', doc.secretKey, secretKeyContext(docId));
    const kept = liveWebhookSecrets(doc, now);
    const webhookSecrets = kept.map((s) => ({
      ...s,
      sealed: keys.reseal('processor-credentials', s.sealed, webhookSecretContext(docId, s.id)),
    }));
    const changed =
      (secretKey === doc.secretKey ? 0 : 1) + webhookSecrets.filter((s, i) => s.sealed !== kept[i]!.sealed).length;
    const dropped = doc.webhookSecrets.length - kept.length;
    if (changed === 0 && dropped === 0) return 0;
    const result = await collection.updateOne(
      { _id: docId, updatedAt: doc.updatedAt, secretKey: doc.secretKey, webhookSecrets: doc.webhookSecrets },
      { $set: { secretKey, webhookSecrets } },
    );
    if (result.matchedCount === 1) return changed;
  }
  throw new Error('the credentials kept changing during the reseal; run rotate-key again');
}

/** How many stored processor secrets (keys and webhook secrets that still verify) are sealed under each key id. */
export async function processorSecretsByKeyId(db: Db, now = Date.now()): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const count = (sealed: string) => {
    const keyId = sealedKeyId(sealed);
    counts[keyId] = (counts[keyId] ?? 0) + 1;
  };
  for await (const doc of processorCredentialsCollection(db).find(
    {},
    { projection: { secretKey: 1, webhookSecrets: 1 } },
  )) {
    count(doc.secretKey);
    for (const secret of liveWebhookSecrets(doc, now)) count(secret.sealed);
  }
  return counts;
}
