import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies a SettleFlow webhook, for merchants: `verifySignature(rawBody, req.headers['x-settleflow-signature'],
 * [secret])`. No dependency beyond node:crypto, so it can be copied into any Node service.
 *
 * - `rawBody` must be the exact bytes received (parse the JSON after verifying, never before).
 * - `secrets`: your active webhook secrets; during a rotation pass both, the header carries one `v1` per secret.
 * - A timestamp older (or further in the future) than `toleranceSeconds` (default 300) fails: replays are refused.
 */
export interface VerifyOptions {
  toleranceSeconds?: number;
  /** Current time in Unix seconds (for tests). */
  now?: number;
}

export function verifySignature(
  rawBody: string | Buffer,
  header: string | undefined,
  secrets: readonly string[],
  options: VerifyOptions = {},
): boolean {
  if (!header || secrets.length === 0) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  const now = options.now ?? Math.floor(Date.now() / 1000);

  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d+$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value && /^[0-9a-f]{64}$/.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0 || Math.abs(now - timestamp) > tolerance) return false;

  const signed = Buffer.concat([
    Buffer.from(`${timestamp}.`, 'utf8'),
    typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody,
  ]);
  return secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(signed).digest();
    // Every candidate is compared in constant time; `some` only stops after a match, which reveals nothing secret.
    return signatures.some((signature) => timingSafeEqual(signature, expected));
  });
}
