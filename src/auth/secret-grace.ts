/**
 * A signing secret kept through a rotation: the current one has no end (`expiresAt` null), a replaced one keeps
 * working until its grace period ends (docs/webhooks.md, docs/connectors.md).
 */
export function stillVerifies(secret: { expiresAt: Date | null }, now: number): boolean {
  return secret.expiresAt === null || secret.expiresAt.getTime() > now;
}
