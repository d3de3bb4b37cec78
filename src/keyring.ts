import { hkdfSync } from 'node:crypto';
import { constantTimeEqual, hmacSha256Hex, open, parseSealed, seal } from './crypto';

/**
 * The vault key ring: one current master key (`VAULT_KEY`) and any retired ones (`VAULT_KEYS_PREVIOUS`), each
 * 32 random bytes. A master is never used directly: every job gets its own key derived with HKDF-SHA256, so a
 * key that leaks from one job (say, the 3-D Secure form token) says nothing about another (card data). New values are
 * sealed and signed with the current master's keys; values of a retired master still open and verify, which is
 * what lets the master be rotated (docs/runbook.md, "Rotating the vault key").
 */
export const SEALING_PURPOSES = ['card-vault', 'webhook-secrets', 'processor-credentials'] as const;
export const MAC_PURPOSES = ['3ds-token'] as const;
export type SealingPurpose = (typeof SEALING_PURPOSES)[number];
export type MacPurpose = (typeof MAC_PURPOSES)[number];
export type KeyPurpose = SealingPurpose | MacPurpose;

/** Label of values in the first sealed format (`v1.…`), sealed with a raw master and carrying no key id. */
export const LEGACY_KEY_ID = 'v1';

const HKDF_SALT = Buffer.from('settleflow vault key ring', 'utf8');

function derive(master: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', master, HKDF_SALT, Buffer.from(info, 'utf8'), length));
}

/** The public name of a master key: derived from it (never secret, reveals nothing of it), stored in each sealed value. */
export function keyIdOf(master: Buffer): string {
  return derive(master, 'settleflow/key-id', 9).toString('base64url');
}

/** The key a master gives one job. */
export function derivedKey(master: Buffer, purpose: KeyPurpose): Buffer {
  return derive(master, `settleflow/${purpose}`, 32);
}

interface Master {
  id: string;
  raw: Buffer;
  keys: Record<KeyPurpose, Buffer>;
}

export class KeyRing {
  /** Sealed values carry this id; a value under another id needs that retired master. */
  readonly currentKeyId: string;
  readonly retiredKeyIds: readonly string[];
  // Private fields: a configuration printed or logged by mistake shows key ids, never key material.
  readonly #current: Master;
  readonly #byId: ReadonlyMap<string, Master>;

  constructor(current: Buffer, retired: readonly Buffer[] = []) {
    const masters = [current, ...retired].map((raw): Master => ({
      id: keyIdOf(raw),
      raw,
      keys: Object.fromEntries([...SEALING_PURPOSES, ...MAC_PURPOSES].map((p) => [p, derivedKey(raw, p)])) as Record<
        KeyPurpose,
        Buffer
      >,
    }));
    const byId = new Map<string, Master>();
    for (const master of masters) if (!byId.has(master.id)) byId.set(master.id, master);
    this.#current = masters[0]!;
    this.#byId = byId;
    this.currentKeyId = this.#current.id;
    this.retiredKeyIds = [...byId.keys()].filter((id) => id !== this.currentKeyId);
  }

  /** `v2.<keyId>.<iv>.<tag>.<ciphertext>` under the current master's key for this job. */
  seal(purpose: SealingPurpose, plaintext: string, context: string): string {
    return seal(this.#current.keys[purpose], this.currentKeyId, plaintext, context);
  }

  /**
   * Opens a value sealed under any configured master. A `v1` value (sealed with a raw master before key ids
   * existed) is tried with each master in turn: GCM's tag tells the right one, so upgrading needs no migration.
   */
  open(purpose: SealingPurpose, sealed: string, context: string): string {
    const parsed = parseSealed(sealed);
    if (parsed.keyId === undefined) {
      for (const master of this.#byId.values()) {
        try {
          return open(master.raw, sealed, context);
        } catch {
          // not this master
        }
      }
      throw new Error('sealed value (v1) opens with none of the configured vault keys');
    }
    const master = this.#byId.get(parsed.keyId);
    if (!master) throw new Error(`sealed value needs vault key ${parsed.keyId}, which is not configured`);
    return open(master.keys[purpose], sealed, context);
  }

  /** The value sealed under the current master (unchanged if it already is). */
  reseal(purpose: SealingPurpose, sealed: string, context: string): string {
    if (sealedKeyId(sealed) === this.currentKeyId) return sealed;
    return this.seal(purpose, this.open(purpose, sealed, context), context);
  }

  /** Hex HMAC-SHA256 of the message under the current master's key for this job. */
  mac(purpose: MacPurpose, message: string): string {
    return hmacSha256Hex(this.#current.keys[purpose], message);
  }

  /** Whether `candidate` is the MAC of the message under any configured master (a retired one's still counts). */
  macMatches(purpose: MacPurpose, message: string, candidate: string): boolean {
    let matched = false;
    for (const master of this.#byId.values()) {
      const expected = hmacSha256Hex(master.keys[purpose], message);
      // No early exit: the time taken does not say which master matched.
      matched = constantTimeEqual(candidate, expected) || matched;
    }
    return matched;
  }

  /** Whether a value sealed under this key id can be opened here. */
  hasKey(keyId: string): boolean {
    return keyId === LEGACY_KEY_ID || this.#byId.has(keyId);
  }

  /** The environment that configures this same ring in another process. */
  toEnv(): { VAULT_KEY: string; VAULT_KEYS_PREVIOUS: string } {
    return {
      VAULT_KEY: this.#current.raw.toString('base64'),
      VAULT_KEYS_PREVIOUS: [...this.#byId.values()]
        .slice(1)
        .map((m) => m.raw.toString('base64'))
        .join(','),
    };
  }
}

/** The key id a sealed value names: `v1` for legacy values. Throws on anything that is not a sealed value. */
export function sealedKeyId(sealed: string): string {
  return parseSealed(sealed).keyId ?? LEGACY_KEY_ID;
}
