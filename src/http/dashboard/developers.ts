import type Router from '@koa/router';
import type { Db } from 'mongodb';
import { revokeApiKey, rotateApiKey, rotateWebhookSecret } from '../../auth/accounts';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { parseApiKey } from '../../auth/key-format';
import { RateLimiterMongoById } from '../../auth/rate-limit-store';
import type { Config } from '../../config';
import { type ApiKeyDoc, apiKeys, keysOf } from '../../store/api-keys';
import { sendTestEvent } from '../../webhooks/deliver';
import { refuse } from './errors';
import { optionalHours, readJsonObject } from './json';
import { type DashboardState, requireAdmin, requireCsrf, requireSession } from './session';

/** The longest grace a rotation may give the keys or secrets it replaces: 30 days. */
const MAX_GRACE_HOURS = 720;

function keyState(key: Omit<ApiKeyDoc, 'hash'>, now: number): 'current' | 'expiring' | 'expired' | 'revoked' {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt === null) return 'current';
  return key.expiresAt.getTime() > now ? 'expiring' : 'expired';
}

/** What the dashboard shows of a key: never the key, never its hash. */
function keyInfo(key: Omit<ApiKeyDoc, 'hash'>, now: number) {
  return {
    keyId: key._id,
    createdAt: key.createdAt.toISOString(),
    expiresAt: key.expiresAt?.toISOString() ?? null,
    revokedAt: key.revokedAt?.toISOString() ?? null,
    state: keyState(key, now),
  };
}

/**
 * Keys, webhook secrets and the webhook test event, through the same account functions as the admin command
 * (src/auth/accounts.ts). The key list is an `_id` range of the merchant's key index, then the keys by `_id`
 * (src/store/api-keys.ts): no scan, like every dashboard read.
 */
/**
 * Test events a merchant may send per minute: each one is a request from SettleFlow to a URL the user types, so
 * a signed-in account must not turn the gateway into a request generator against someone else's server.
 */
export const TEST_EVENTS_PER_MINUTE = 10;

export function developerRoutes(router: Router<DashboardState>, deps: { db: Db; config: Config }): void {
  const { db, config } = deps;
  const testEvents = new RateLimiterMongoById(db, {
    keyPrefix: 'dashboard-webhook-test',
    points: TEST_EVENTS_PER_MINUTE,
    duration: 60,
  });

  router.get('/developers', async (ctx) => {
    const now = Date.now();
    const keys = await keysOf(db, ctx.state.owner.merchantId, ctx.state.owner.mode);
    ctx.body = {
      keys: keys.map((k) => keyInfo(k, now)),
      webhookSecrets: ctx.state.merchant.webhookSecrets.map((s) => ({
        id: s.id,
        createdAt: s.createdAt.toISOString(),
        expiresAt: s.expiresAt?.toISOString() ?? null,
      })),
    };
  });

  router.post('/keys', requireCsrf, requireAdmin, async (ctx) => {
    const body = await readJsonObject(ctx);
    const hours = optionalHours(body, 'graceHours', MAX_GRACE_HOURS);
    const graceMs = hours === undefined ? config.keyRotationGraceMs : Math.round(hours * 3600_000);
    const { merchantId, mode } = ctx.state.owner;
    const rotated = await rotateApiKey(db, merchantId, mode, graceMs);
    ctx.body = {
      key: rotated.key,
      keyId: parseApiKey(rotated.key)!.keyId,
      oldKeysExpireAt: rotated.oldKeysExpireAt.toISOString(),
    };
  });

  router.post('/keys/:keyId/revoke', requireCsrf, requireAdmin, async (ctx) => {
    await readJsonObject(ctx);
    const keyId = ctx.params.keyId!;
    if (!/^[0-9A-Za-z]{1,32}$/.test(keyId)) throw refuse.notFound();
    const key = await apiKeys(db).findOne({ _id: keyId }, { projection: { hash: 0 } });
    if (!key || key.merchantId !== ctx.state.owner.merchantId || key.mode !== ctx.state.owner.mode)
      throw refuse.notFound();
    if (!(await revokeApiKey(db, keyId)) && !key.revokedAt) throw refuse.notFound();
    ctx.status = 204;
  });

  router.post('/webhook-test', requireCsrf, requireAdmin, async (ctx) => {
    const body = await readJsonObject(ctx);
    if (
      typeof body.url !== 'string' ||
      body.url.length > 2048 ||
      !URL.canParse(body.url) ||
      !/^https?:$/.test(new URL(body.url).protocol)
    )
      throw refuse.invalid('url must be an http(s) URL');
    try {
      await testEvents.consume(ctx.state.owner.merchantId);
    } catch (err) {
      if (err instanceof RateLimiterRes)
        throw refuse.tooManyAttempts(`at most ${TEST_EVENTS_PER_MINUTE} test events a minute`);
      throw err;
    }
    const sent = await sendTestEvent({ db, config }, ctx.state.merchant, ctx.state.owner.mode, body.url);
    ctx.body = {
      ...(sent.httpStatus === undefined ? {} : { httpStatus: sent.httpStatus }),
      durationMs: sent.durationMs,
      ...(sent.error === undefined ? {} : { error: sent.error }),
    };
  });
}

/** `POST /dashboard/api/webhook-secret/rotate`: not per mode, a merchant has one set of webhook secrets (docs/webhooks.md). */
export function webhookSecretRoutes(router: Router<DashboardState>, deps: { db: Db; config: Config }): void {
  const { db, config } = deps;
  router.post('/webhook-secret/rotate', requireSession(db), requireCsrf, requireAdmin, async (ctx) => {
    const body = await readJsonObject(ctx);
    const hours = optionalHours(body, 'graceHours', MAX_GRACE_HOURS);
    const graceMs = hours === undefined ? config.webhookSecretGraceMs : Math.round(hours * 3600_000);
    const rotated = await rotateWebhookSecret(db, config, ctx.state.auth.user.merchantId, graceMs);
    ctx.body = { webhookSecret: rotated.webhookSecret, oldSecretsExpireAt: rotated.oldSecretsExpireAt.toISOString() };
  });
}
