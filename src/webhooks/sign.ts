import { createHmac } from 'node:crypto';

/**
 * `X-SettleFlow-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each v1 is
 * HMAC-SHA256(secret, `${t}.${rawBody}`) for one active secret (several during a rotation). Signing the timestamp
 * with the body lets receivers refuse replays older than their tolerance.
 */
export function signatureHeader(rawBody: string, secrets: readonly string[], timestampSeconds: number): string {
  const signed = `${timestampSeconds}.${rawBody}`;
  const signatures = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(signed, 'utf8').digest('hex')}`);
  return [`t=${timestampSeconds}`, ...signatures].join(',');
}
