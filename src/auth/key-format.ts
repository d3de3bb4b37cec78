import type { Mode } from '../../workflows/vocabulary';
import { randomBase62 } from '../crypto';

/**
 * API keys look like `sk_test_<keyId>_<secret>`: the mode, a non-secret key id that finds the stored hash by
 * `_id` (verification never scans), and 32 base62 characters (~190 bits) of secret.
 */

export const KEY_ID_LENGTH = 12;
export const KEY_SECRET_LENGTH = 32;
const KEY_PATTERN = /^sk_(test|live)_([0-9A-Za-z]{12})_([0-9A-Za-z]{32})$/;

export interface ParsedKey {
  mode: Mode;
  keyId: string;
}

export function parseApiKey(raw: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(raw);
  if (!match) return undefined;
  return { mode: match[1] as Mode, keyId: match[2]! };
}

export function generateApiKey(mode: Mode): { key: string; keyId: string } {
  const keyId = randomBase62(KEY_ID_LENGTH);
  return { key: `sk_${mode}_${keyId}_${randomBase62(KEY_SECRET_LENGTH)}`, keyId };
}

export function generateWebhookSecret(): string {
  return `whsec_${randomBase62(32)}`;
}

/** The non-secret part of a key, safe for logs and admin listings. */
export function describeKey(raw: string): string {
  const parsed = parseApiKey(raw);
  return parsed ? `sk_${parsed.mode}_${parsed.keyId}_…` : '(malformed key)';
}
