import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies `X-SettleFlow-Signature` the way a merchant would, written here from docs/webhooks.md independently of
 * the signing code, so a mistake on one side cannot hide in the other.
 */
export function signatureMatches(header: string, rawBody: string, secret: string, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((part) => part.split('=') as [string, string]);
  const timestamp = Number(parts.find(([k]) => k === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest();
  return parts.some(([k, v]) => k === 'v1' && v.length === 64 && timingSafeEqual(Buffer.from(v, 'hex'), expected));
}
