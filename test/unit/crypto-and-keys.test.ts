import { createHmac, randomBytes } from 'node:crypto';
import { describeKey, generateApiKey, generateWebhookSecret, parseApiKey } from '../../src/auth/key-format';
import { constantTimeEqual, hmacSha256Hex, open, randomBase62, seal as sealWithId } from '../../src/crypto';
import { signatureHeader } from '../../src/webhooks/sign';

/**
 * Sealing at rest (SECURITY.md: AES-256-GCM, bound to its record), API key format (docs/authentication.md: sk_test_ /
 * sk_live_ with an embedded non-secret key id), references' random alphabet (§4) and webhook signatures (§8).
 */

const BASE62_ONLY = /^[0-9A-Za-z]*$/;

describe('seal / open', () => {
  const key = randomBytes(32);
  const keyId = 'k3yId_-0';
  const context = 'vault:order-1';
  const seal = (k: Buffer, plaintext: string, ctx: string) => sealWithId(k, keyId, plaintext, ctx);

  it.each([
    ['card data', '{"pan":"4111111111111111","cvv":"123"}'],
    ['an empty string', ''],
    ['non-ASCII text', 'Zoë – 支付 – 💳'],
    ['a long value', 'x'.repeat(100_000)],
  ])('opens what it sealed (%s)', (_label, plaintext) => {
    expect(open(key, seal(key, plaintext, context), context)).toBe(plaintext);
  });

  it('produces v2.<keyId>.<iv>.<tag>.<ciphertext> in base64url, never the plaintext', () => {
    const sealed = seal(key, '4111111111111111', context);
    const parts = sealed.split('.');
    expect(parts).toHaveLength(5);
    expect(parts.slice(0, 2)).toEqual(['v2', keyId]);
    for (const part of parts.slice(2)) expect(part).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(parts[2]!, 'base64url')).toHaveLength(12);
    expect(Buffer.from(parts[3]!, 'base64url')).toHaveLength(16);
    expect(sealed).not.toContain('4111111111111111');
  });

  it('gives a different output for every seal of the same plaintext', () => {
    const outputs = new Set(Array.from({ length: 20 }, () => seal(key, 'same secret', context)));
    expect(outputs.size).toBe(20);
  });

  it('refuses to open under another context', () => {
    const sealed = seal(key, 'secret', context);
    expect(() => open(key, sealed, 'vault:order-2')).toThrow();
    expect(() => open(key, sealed, '')).toThrow();
  });

  it('refuses to open with another key', () => {
    const sealed = seal(key, 'secret', context);
    expect(() => open(randomBytes(32), sealed, context)).toThrow();
  });

  const flipFirstBit = (part: string) => {
    const bytes = Buffer.from(part, 'base64url');
    bytes[0] = bytes[0]! ^ 0x01;
    return bytes.toString('base64url');
  };

  it.each([
    ['ciphertext', 4],
    ['authentication tag', 3],
    ['nonce', 2],
  ])('refuses to open a value whose %s was tampered with', (_label, index) => {
    const parts = seal(key, 'secret value', context).split('.');
    parts[index] = flipFirstBit(parts[index]!);
    expect(() => open(key, parts.join('.'), context)).toThrow();
  });

  it('refuses a truncated ciphertext or authentication tag', () => {
    const [version, id, iv, tag, ciphertext] = seal(key, 'secret value', context).split('.');
    expect(() => open(key, [version, id, iv, tag, ciphertext!.slice(0, -2)].join('.'), context)).toThrow();
    // GCM verifies shorter tags too, more weakly: only a full 16-byte tag is accepted.
    const shortTag = Buffer.from(tag!, 'base64url').subarray(0, 12).toString('base64url');
    expect(() => open(key, [version, id, iv, shortTag, ciphertext].join('.'), context)).toThrow();
  });

  it.each(['', 'v1', 'v1.a.b', 'v2.a.b.c', 'v2..a.b.c', 'v3.k.a.b.c', 'garbage'])(
    'refuses the malformed sealed value %j',
    (sealed) => {
      expect(() => open(key, sealed, context)).toThrow();
    },
  );
});

describe('randomBase62', () => {
  it.each([0, 1, 20, 32, 200])('returns exactly %d base62 characters', (length) => {
    const value = randomBase62(length);
    expect(value).toHaveLength(length);
    expect(value).toMatch(BASE62_ONLY);
  });

  it('returns a different value on every call', () => {
    const values = new Set(Array.from({ length: 100 }, () => randomBase62(20)));
    expect(values.size).toBe(100);
  });

  it('uses the whole base62 alphabet', () => {
    const seen = new Set(randomBase62(20_000));
    expect(seen.size).toBe(62);
  });
});

describe('API keys', () => {
  it.each(['test', 'live'] as const)('generates sk_%s_<12-char key id>_<32-char secret>', (mode) => {
    const { key, keyId } = generateApiKey(mode);
    expect(key).toMatch(new RegExp(`^sk_${mode}_[0-9A-Za-z]{12}_[0-9A-Za-z]{32}$`));
    expect(key.startsWith(`sk_${mode}_${keyId}_`)).toBe(true);
  });

  it.each(['test', 'live'] as const)('parses a generated %s key back to its mode and key id', (mode) => {
    const { key, keyId } = generateApiKey(mode);
    expect(parseApiKey(key)).toEqual({ mode, keyId });
  });

  it('generates a different key id and secret every time', () => {
    const keys = Array.from({ length: 50 }, () => generateApiKey('test'));
    expect(new Set(keys.map((k) => k.key)).size).toBe(50);
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(50);
  });

  const valid = `sk_test_${'A'.repeat(12)}_${'b'.repeat(32)}`;

  it('parses a well-formed key without needing to have generated it', () => {
    expect(parseApiKey(valid)).toEqual({ mode: 'test', keyId: 'A'.repeat(12) });
  });

  it.each([
    ['an empty string', ''],
    ['the sk_prod_ prefix', valid.replace('sk_test_', 'sk_prod_')],
    ['a publishable-key prefix', valid.replace('sk_', 'pk_')],
    ['an upper-case prefix', valid.replace('sk_test_', 'SK_TEST_')],
    ['no prefix', valid.slice('sk_test_'.length)],
    ['a short secret', valid.slice(0, -1)],
    ['a short key id', `sk_test_${'A'.repeat(11)}_${'b'.repeat(32)}`],
    ['an extra character', `${valid}x`],
    ['a trailing newline', `${valid}\n`],
    ['a leading space', ` ${valid}`],
    ['a non-base62 character', valid.replace('bbbb', 'bb-b')],
    ['no secret', `sk_test_${'A'.repeat(12)}`],
    ['only the prefix', 'sk_live_'],
  ])('does not parse a key with %s', (_label, raw) => {
    expect(parseApiKey(raw)).toBeUndefined();
  });

  it('describes a key by its non-secret part only', () => {
    const { key, keyId } = generateApiKey('live');
    const secret = key.slice(-32);
    expect(describeKey(key)).toBe(`sk_live_${keyId}_…`);
    expect(describeKey(key)).not.toContain(secret);
    expect(describeKey('sk_prod_nope')).toBe('(malformed key)');
  });

  it('generates webhook secrets as whsec_ and 32 base62 characters', () => {
    expect(generateWebhookSecret()).toMatch(/^whsec_[0-9A-Za-z]{32}$/);
    expect(generateWebhookSecret()).not.toBe(generateWebhookSecret());
  });
});

describe('webhook signatures (X-SettleFlow-Signature)', () => {
  const expectedHex = (secret: string, t: number, body: string) =>
    createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex');
  const body = '{"Code":0,"Result":{"OperationType":"payment","Status":"captured","Tid":"order-1","Amount":12.34}}';
  const t = 1_776_000_000;

  it('is t=<unix seconds>,v1=<HMAC-SHA256(secret, t + "." + rawBody) in hex>', () => {
    expect(signatureHeader(body, ['whsec_one'], t)).toBe(`t=${t},v1=${expectedHex('whsec_one', t, body)}`);
  });

  it('carries one v1 per active secret, in the order given, during a rotation', () => {
    const secrets = ['whsec_new', 'whsec_old'];
    const header = signatureHeader(body, secrets, t);
    const parts = header.split(',');
    expect(parts[0]).toBe(`t=${t}`);
    expect(parts.slice(1)).toEqual(secrets.map((s) => `v1=${expectedHex(s, t, body)}`));
    for (const part of parts.slice(1)) expect(part).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it('signs the raw body byte for byte, including non-ASCII characters', () => {
    const unicodeBody = '{"Code":0,"Result":{"UserId":"Zoë 支付"}}';
    expect(signatureHeader(unicodeBody, ['s'], t)).toBe(`t=${t},v1=${expectedHex('s', t, unicodeBody)}`);
  });

  it('changes when the body, the timestamp or the secret changes', () => {
    const reference = signatureHeader(body, ['s'], t);
    expect(signatureHeader(`${body} `, ['s'], t)).not.toBe(reference);
    expect(signatureHeader(body, ['s'], t + 1).split(',')[1]).not.toBe(reference.split(',')[1]);
    expect(signatureHeader(body, ['s2'], t)).not.toBe(reference);
  });

  it('hmacSha256Hex computes the same HMAC-SHA256 as node:crypto', () => {
    expect(hmacSha256Hex('k', 'message')).toBe(createHmac('sha256', 'k').update('message').digest('hex'));
  });

  it.each([
    ['abc', 'abc', true],
    ['abc', 'abd', false],
    ['abc', 'abcd', false],
    ['', '', true],
  ])('constantTimeEqual(%j, %j) is %p', (a, b, expected) => {
    expect(constantTimeEqual(a, b)).toBe(expected);
  });
});
