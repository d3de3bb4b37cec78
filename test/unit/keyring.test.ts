import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { open } from '../../src/crypto';
import { challengeToken, challengeTokenValid } from '../../src/http/three-ds/routes';
import { derivedKey, type KeyPurpose, KeyRing, keyIdOf, sealedKeyId } from '../../src/keyring';

/**
 * The vault key ring: one master per deployment, never used directly; HKDF-derived keys per job; sealed values
 * that name their master's key id (`v2.<keyId>.<iv>.<tag>.<ciphertext>`); `v1` values of older versions (sealed
 * with the raw master) still open; retired masters keep opening and verifying what they sealed and signed.
 */

const PURPOSES: KeyPurpose[] = ['card-vault', 'webhook-secrets', 'processor-credentials', '3ds-token'];
const A = randomBytes(32);
const B = randomBytes(32);
const context = 'vault:vt_abc:pan';

/** A value exactly as the previous version sealed it: AES-256-GCM under the raw master, `v1.<iv>.<tag>.<ct>`. */
function legacySealV1(master: Buffer, plaintext: string, ctx: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master, iv);
  cipher.setAAD(Buffer.from(ctx, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

/** HKDF-SHA256 (RFC 5869) written out with HMAC, independently of node:crypto's hkdfSync, for one 32-byte block. */
function rfc5869(ikm: Buffer, salt: string, info: string, length: number): Buffer {
  const prk = createHmac('sha256', Buffer.from(salt, 'utf8')).update(ikm).digest();
  return createHmac('sha256', prk)
    .update(Buffer.concat([Buffer.from(info, 'utf8'), Buffer.from([1])]))
    .digest()
    .subarray(0, length);
}

describe('derivation', () => {
  it('derives each job key with HKDF-SHA256 from the master (checked against RFC 5869 written out by hand)', () => {
    for (const purpose of PURPOSES) {
      expect(derivedKey(A, purpose)).toEqual(rfc5869(A, 'settleflow vault key ring', `settleflow/${purpose}`, 32));
    }
  });

  it('pins the derivation: a change would make every sealed value unreadable', () => {
    const master = Buffer.alloc(32, 1);
    expect(keyIdOf(master)).toBe(
      rfc5869(master, 'settleflow vault key ring', 'settleflow/key-id', 9).toString('base64url'),
    );
    expect(keyIdOf(master)).toBe('GgX6HTSwKJW3');
    expect(derivedKey(master, 'card-vault').toString('hex')).toBe(
      '28a7eaa275985d7e6e2c7a61fa3543f3a85417e5a0f06a19285fb0395f75f9b7',
    );
  });

  it('gives one key per job, none of them the master, and the same ones to every process', () => {
    const keys = PURPOSES.map((p) => derivedKey(A, p).toString('hex'));
    expect(new Set([...keys, A.toString('hex')]).size).toBe(PURPOSES.length + 1);
    expect(PURPOSES.map((p) => derivedKey(Buffer.from(A), p).toString('hex'))).toEqual(keys);
    expect(
      new KeyRing(Buffer.from(A)).open('card-vault', new KeyRing(A).seal('card-vault', 'x', context), context),
    ).toBe('x');
  });

  it('keeps the jobs apart: a value sealed for one job opens for no other, and MACs differ per job', () => {
    const ring = new KeyRing(A);
    const sealed = ring.seal('card-vault', '4111111111111111', context);
    expect(() => ring.open('webhook-secrets', sealed, context)).toThrow();
    // The master itself seals nothing any more.
    expect(() => open(A, sealed, context)).toThrow();
    const message = '3ds-challenge:pr_x';
    expect(ring.mac('3ds-token', message)).not.toBe(createHmac('sha256', A).update(message).digest('hex'));
  });

  it('names a master by a non-secret id: stable, different per master, base64url, not the key', () => {
    expect(keyIdOf(A)).toBe(keyIdOf(Buffer.from(A)));
    expect(keyIdOf(A)).not.toBe(keyIdOf(B));
    expect(keyIdOf(A)).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(A.toString('base64url')).not.toContain(keyIdOf(A));
  });
});

describe('sealed format', () => {
  it("is v2.<keyId>.<iv>.<tag>.<ciphertext>, with the current master's id", () => {
    const ring = new KeyRing(B, [A]);
    const parts = ring.seal('webhook-secrets', 'whsec_x', context).split('.');
    expect(parts).toHaveLength(5);
    expect(parts.slice(0, 2)).toEqual(['v2', keyIdOf(B)]);
    expect(ring.currentKeyId).toBe(keyIdOf(B));
    expect(ring.retiredKeyIds).toEqual([keyIdOf(A)]);
  });

  it('reports the key id of a value, `v1` for a legacy one', () => {
    expect(sealedKeyId(new KeyRing(A).seal('card-vault', 'x', context))).toBe(keyIdOf(A));
    expect(sealedKeyId(legacySealV1(A, 'x', context))).toBe('v1');
    expect(() => sealedKeyId('garbage')).toThrow();
  });

  it('never shows key material when a ring is printed or serialized', () => {
    const ring = new KeyRing(B, [A]);
    for (const shown of [JSON.stringify(ring), inspect(ring, { showHidden: true, depth: 5 })]) {
      for (const key of [A, B]) {
        expect(shown).not.toContain(key.toString('base64'));
        expect(shown).not.toContain(key.toString('hex'));
      }
    }
  });
});

describe('legacy v1 values', () => {
  const legacy = legacySealV1(A, '4111111111111111', context);

  it('open when their master is the current key (an upgrade with no rotation)', () => {
    expect(new KeyRing(A).open('card-vault', legacy, context)).toBe('4111111111111111');
  });

  it('open when their master is a retired key', () => {
    expect(new KeyRing(B, [randomBytes(32), A]).open('card-vault', legacy, context)).toBe('4111111111111111');
  });

  it('do not open without their master, nor under another context', () => {
    expect(() => new KeyRing(B).open('card-vault', legacy, context)).toThrow(/none of the configured vault keys/);
    expect(() => new KeyRing(A).open('card-vault', legacy, 'vault:other:pan')).toThrow();
  });

  it('are resealed into v2 under the current key', () => {
    const resealed = new KeyRing(B, [A]).reseal('webhook-secrets', legacy, context);
    expect(sealedKeyId(resealed)).toBe(keyIdOf(B));
    expect(new KeyRing(B).open('webhook-secrets', resealed, context)).toBe('4111111111111111');
  });
});

describe('rotation', () => {
  const before = new KeyRing(A);
  const during = new KeyRing(B, [A]);
  const after = new KeyRing(B);

  it('opens values sealed under the retired key, and seals new ones under the current key', () => {
    const old = before.seal('card-vault', '5555555555554444', context);
    expect(during.open('card-vault', old, context)).toBe('5555555555554444');
    expect(sealedKeyId(during.seal('card-vault', 'x', context))).toBe(keyIdOf(B));
  });

  it('refuses, naming the key id, a value whose master is no longer configured', () => {
    const old = before.seal('card-vault', 'x', context);
    expect(() => after.open('card-vault', old, context)).toThrow(keyIdOf(A));
    expect(after.hasKey(keyIdOf(A))).toBe(false);
    expect(during.hasKey(keyIdOf(A))).toBe(true);
  });

  it('reseal moves a value to the current key and leaves one already there unchanged', () => {
    const old = before.seal('webhook-secrets', 'whsec_1', context);
    const moved = during.reseal('webhook-secrets', old, context);
    expect(sealedKeyId(moved)).toBe(keyIdOf(B));
    expect(after.open('webhook-secrets', moved, context)).toBe('whsec_1');
    expect(during.reseal('webhook-secrets', moved, context)).toBe(moved);
  });

  it('verifies MACs made under a retired key, until that key is dropped', () => {
    const message = 'payment-request:{"tid":"t"}';
    const oldMac = before.mac('3ds-token', message);
    expect(during.macMatches('3ds-token', message, oldMac)).toBe(true);
    expect(after.macMatches('3ds-token', message, oldMac)).toBe(false);
    expect(during.mac('3ds-token', message)).toBe(after.mac('3ds-token', message));
  });

  it('3DS form tokens issued under a retired key still verify; a token for another payment does not', () => {
    const token = challengeToken({ vaultKeys: before }, 'pr_abc');
    expect(challengeTokenValid({ vaultKeys: during }, 'pr_abc', token)).toBe(true);
    expect(challengeTokenValid({ vaultKeys: during }, 'pr_abd', token)).toBe(false);
    expect(challengeTokenValid({ vaultKeys: after }, 'pr_abc', token)).toBe(false);
    expect(challengeTokenValid({ vaultKeys: after }, 'pr_abc', challengeToken({ vaultKeys: during }, 'pr_abc'))).toBe(
      true,
    );
  });

  it('exports the same ring to a child process (VAULT_KEY, VAULT_KEYS_PREVIOUS)', () => {
    const env = during.toEnv();
    expect(env).toEqual({ VAULT_KEY: B.toString('base64'), VAULT_KEYS_PREVIOUS: A.toString('base64') });
    expect(new KeyRing(B, [B, A, A]).retiredKeyIds).toEqual([keyIdOf(A)]);
  });
});
