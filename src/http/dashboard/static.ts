import path from 'node:path';
import { send } from '@koa/send';
import type { Context, Middleware, Next } from 'koa';
import type { Config } from '../../config';
import { projectRoot } from '../../paths';
import { dashboardContentSecurityPolicy } from '../security-headers';

/** Where `npm run build` puts the dashboard's browser app (src/dashboard-ui, built by Vite). */
export const DASHBOARD_UI_DIR = path.join(projectRoot, 'dist', 'dashboard-ui');

const PREFIX = '/dashboard';
const API_PREFIX = '/dashboard/api';
const ASSETS_PREFIX = '/dashboard/assets/';
// Vite names every asset after a hash of its content: a new build makes new names, so a cached file never goes stale.
const ASSET_MAX_AGE_MS = 365 * 24 * 60 * 60 * 1000;

function isApiPath(p: string): boolean {
  return p === API_PREFIX || p.startsWith(`${API_PREFIX}/`);
}

/**
 * The dashboard's browser app under /dashboard (docs/dashboard.md): hashed assets from /dashboard/assets/, cached
 * for good; and index.html, never cached, for every other /dashboard path so that the app's own router shows the
 * page (a bookmarked payment, a reload). /dashboard/api/… is never answered here: it goes on to the JSON API, so a
 * mistyped API call gets the API's 404, not a page. Every answer carries the dashboard's Content-Security-Policy;
 * the other security headers (src/http/security-headers.ts) apply as everywhere.
 */
export function dashboardStatic(config: Pick<Config, 'publicBaseUrl'>, root: string = DASHBOARD_UI_DIR): Middleware {
  const csp = dashboardContentSecurityPolicy(config);
  const assetsRoot = path.join(root, 'assets');

  const serveAsset = async (ctx: Context, file: string) => {
    // The security headers' blanket no-store would win over send's caching, which only fills an empty header.
    ctx.remove('Cache-Control');
    try {
      await send(ctx, file, { root: assetsRoot, immutable: true, maxAge: ASSET_MAX_AGE_MS, index: false });
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      notFound(ctx, 'No such file.');
    }
  };

  const serveIndex = async (ctx: Context) => {
    ctx.set('Cache-Control', 'no-store');
    try {
      await send(ctx, 'index.html', { root, index: false });
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
      notFound(ctx, 'The dashboard is not built: run `npm run build`.');
    }
  };

  return async (ctx: Context, next: Next) => {
    const p = ctx.path;
    const page = (p === PREFIX || p.startsWith(`${PREFIX}/`)) && !isApiPath(p);
    if (!page || (ctx.method !== 'GET' && ctx.method !== 'HEAD')) {
      await next();
      return;
    }
    await csp(ctx, async () => {
      if (p.startsWith(ASSETS_PREFIX)) await serveAsset(ctx, p.slice(ASSETS_PREFIX.length));
      else await serveIndex(ctx);
    });
  };
}

function notFound(ctx: Context, message: string): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.status = 404;
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = message;
}
