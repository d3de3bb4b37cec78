import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Db } from 'mongodb';
import {
  type ActiveSession,
  createSession,
  csrfMatches,
  endAllSessions,
  endSession,
  resolveSession,
  SESSION_ABSOLUTE_MS,
} from '../../auth/dashboard-sessions';
import {
  DashboardSignIn,
  DashboardUserError,
  describeUser,
  hasLiveMode,
  normalizeEmail,
  PASSWORD_MAX_LENGTH,
  redeemPasswordLink,
} from '../../auth/dashboard-users';
import type { Config } from '../../config';
import { findMerchant, type MerchantDoc } from '../../store/merchants';
import type { Mode } from '../../../workflows/vocabulary';
import type { RequestState } from '../request-id';
import { refuse } from './errors';
import { readJsonObject } from './json';

export const SESSION_COOKIE = 'sf_session';

export interface DashboardState extends RequestState {
  auth: ActiveSession;
  /** The merchant and mode every query of a `/{mode}/…` route is built from. */
  owner: { merchantId: string; mode: Mode };
  /** The session's merchant as `requireMode` read it for this request: the routes below use it, not a second read. */
  merchant: MerchantDoc;
}

/**
 * The cookie is written by hand rather than with Koa's `ctx.cookies`, which refuses a `Secure` cookie on a plain
 * HTTP connection: behind a TLS-terminating proxy the process sees HTTP while the browser sees https
 * (PUBLIC_BASE_URL), and the browser is what `Secure` is for.
 */
function sessionCookie(config: Pick<Config, 'publicBaseUrl'>, token: string, maxAgeSeconds: number): string {
  const secure = new URL(config.publicBaseUrl).protocol === 'https:';
  return [
    `${SESSION_COOKIE}=${token}`,
    'Path=/dashboard',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}

/** Any signed-in user: resolves the session from the cookie, or 401. */
export function requireSession(db: Db): Middleware<DashboardState> {
  return async (ctx, next) => {
    const auth = await resolveSession(db, ctx.cookies.get(SESSION_COOKIE));
    if (!auth) throw refuse.unauthenticated();
    ctx.state.auth = auth;
    await next();
  };
}

/** Every state-changing call carries the session's CSRF token in `X-CSRF-Token` (compared in constant time). */
export const requireCsrf: Middleware<DashboardState> = async (ctx, next) => {
  if (!csrfMatches(ctx.state.auth.session, ctx.get('x-csrf-token') || undefined)) throw refuse.csrf();
  await next();
};

export const requireAdmin: Middleware<DashboardState> = async (ctx, next) => {
  if (ctx.state.auth.user.role !== 'admin') throw refuse.forbidden();
  await next();
};

/**
 * The `{mode}` of the path, for the session's merchant (still active): anything else is 404. Every query below
 * is built from `ctx.state.owner`, never from anything the request names.
 */
export function requireMode(db: Db): Middleware<DashboardState> {
  return async (ctx, next) => {
    // Read from the path itself: this runs as the `/test` and `/live` prefixes' middleware, before any route's params.
    const mode = /^\/dashboard\/api\/([^/]+)\//.exec(ctx.path)?.[1];
    if (mode !== 'test' && mode !== 'live') throw refuse.notFound();
    const merchant = await findMerchant(db, ctx.state.auth.user.merchantId);
    if (!merchant || merchant.status !== 'active') throw refuse.unauthenticated('the account is disabled');
    // A merchant without live mode has no `/live` pages: not found, as the app's mode switch does not offer them.
    if (mode === 'live' && !(await hasLiveMode(db, merchant))) throw refuse.notFound();
    ctx.state.owner = { merchantId: merchant._id, mode };
    ctx.state.merchant = merchant;
    await next();
  };
}

const clientAddress = (ctx: Context) => ctx.ip || ctx.req.socket.remoteAddress || '';

/** `/dashboard/api/session` (sign in, who am I, sign out, sign out everywhere) and `/dashboard/api/password`. */
export function sessionRoutes(
  router: Router<DashboardState>,
  deps: { db: Db; config: Pick<Config, 'publicBaseUrl' | 'throttle'> },
): void {
  const { db, config } = deps;
  const signIn = new DashboardSignIn(db, config);
  const session = requireSession(db);

  // No CSRF token exists before sign-in: a cross-site page cannot sign a browser in to the attacker's account all
  // the same, because the body must be application/json, which no form can send and which a cross-origin script
  // may only send after a CORS preflight this API never grants.
  router.post('/session', async (ctx) => {
    const body = await readJsonObject(ctx);
    const email = normalizeEmail(body.email);
    const password = body.password;
    if (!email || typeof password !== 'string' || password === '' || password.length > PASSWORD_MAX_LENGTH)
      throw refuse.invalid('email and password are required');
    const result = await signIn.signIn(email, password, clientAddress(ctx));
    if (!result.ok && result.reason === 'throttled') throw refuse.tooManyAttempts();
    const user = result.ok ? await describeUser(db, result.user) : undefined;
    // One answer for an unknown email, a wrong password and a disabled account.
    if (!result.ok || !user) throw refuse.unauthenticated('wrong email or password');
    // Whatever session the browser held before is ended, never carried over: a fresh id at every sign-in.
    const before = await resolveSession(db, ctx.cookies.get(SESSION_COOKIE));
    if (before) await endSession(db, before.session);
    const created = await createSession(db, result.user);
    ctx.set('Set-Cookie', sessionCookie(config, created.token, SESSION_ABSOLUTE_MS / 1000));
    ctx.body = { user, csrfToken: created.csrfToken };
  });

  router.get('/session', session, async (ctx) => {
    const user = await describeUser(db, ctx.state.auth.user);
    if (!user) throw refuse.unauthenticated('the account is disabled');
    ctx.body = { user, csrfToken: ctx.state.auth.session.csrfToken };
  });

  router.delete('/session', session, requireCsrf, async (ctx) => {
    await endSession(db, ctx.state.auth.session);
    ctx.set('Set-Cookie', sessionCookie(config, '', 0));
    ctx.status = 204;
  });

  router.post('/session/sign-out-everywhere', session, requireCsrf, async (ctx) => {
    await endAllSessions(db, ctx.state.auth.session);
    ctx.set('Set-Cookie', sessionCookie(config, '', 0));
    ctx.status = 204;
  });

  // Anyone holding a one-time link: the token is the credential, so no session and no CSRF token (there is none
  // to steal: a cross-site page cannot read the link's fragment).
  router.post('/password', async (ctx) => {
    const body = await readJsonObject(ctx);
    if (typeof body.token !== 'string' || typeof body.password !== 'string')
      throw refuse.invalid('token and password are required');
    let spent: boolean;
    try {
      spent = await redeemPasswordLink(db, body.token, body.password);
    } catch (err) {
      if (err instanceof DashboardUserError) throw refuse.invalid(err.message);
      throw err;
    }
    if (!spent) throw refuse.invalid('this link is unknown, used or expired: ask for a new one');
    ctx.status = 204;
  });
}
