import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  randomInt,
  timingSafeEqual,
} from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Uniformly random base62 (randomInt rejects biased draws), for ids, references and secrets. */
export function randomBase62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62[randomInt(62)];
  return out;
}

/**
 * AES-256-GCM sealing for data at rest (vaulted card data, webhook secrets, processor credentials), used through
 * the key ring (src/keyring.ts), which picks the key. The output carries the id of the master key it is sealed under and its
 * own random nonce and tag: `v2.<keyId>.<iv>.<tag>.<ciphertext>`, base64url. `context` is bound as associated
 * data, so a sealed value copied onto another record does not open there.
 */
export function seal(key: Buffer, keyId: string, plaintext: string, context: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(keyId)) throw new Error('a key id is base64url');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    'v2',
    keyId,
    iv.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
    ciphertext.toString('base64url'),
  ].join('.');
}

export interface SealedParts {
  /** Absent in `v1` values, sealed with a raw master key before key ids existed. */
  keyId?: string;
  iv: string;
  tag: string;
  ciphertext: string;
}

/** Splits a `v2` value, or a legacy `v1.<iv>.<tag>.<ciphertext>` one; throws on anything else. */
export function parseSealed(sealed: string): SealedParts {
  const parts = sealed.split('.');
  if (parts[0] === 'v1' && parts.length === 4) return { iv: parts[1]!, tag: parts[2]!, ciphertext: parts[3]! };
  if (parts[0] === 'v2' && parts.length === 5 && parts[1])
    return { keyId: parts[1], iv: parts[2]!, tag: parts[3]!, ciphertext: parts[4]! };
  throw new Error('unsupported sealed value');
}

export function open(key: Buffer, sealed: string, context: string): string {
  const { iv, tag, ciphertext } = parseSealed(sealed);
  if (!iv || !tag) throw new Error('unsupported sealed value');
  // A full 16-byte tag only: GCM would otherwise accept a truncated, weaker one.
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
}

export function sha256Hex(message: string): string {
  return createHash('sha256').update(message, 'utf8').digest('hex');
}

export function hmacSha256Hex(key: string | Buffer, message: string): string {
  return createHmac('sha256', key).update(message, 'utf8').digest('hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
