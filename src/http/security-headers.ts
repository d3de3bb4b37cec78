import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import type { Config } from '../config';

/**
 * Security headers on every answer of the API process: E-PRO endpoints, health, the OpenAPI document and the
 * 3-D Secure pages (docs/authentication.md, "Security headers"). helmet's set (nosniff, frame and referrer
 * policies, ...) plus `Cache-Control: no-store`, since answers carry payment data and must not be kept by
 * browsers or proxies; HSTS only when customers and merchants reach us over https (PUBLIC_BASE_URL). helmet's
 * Content-Security-Policy is left out here: the 3-D Secure pages set a stricter policy of their own, and the
 * dashboard's pages get theirs from `dashboardContentSecurityPolicy` below.
 */
export function securityHeaders(config: Pick<Config, 'publicBaseUrl'>): Middleware {
  const https = new URL(config.publicBaseUrl).protocol === 'https:';
  const headers = helmet({
    contentSecurityPolicy: false,
    strictTransportSecurity: https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
  return async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await headers(ctx, async () => {
      const set = { ...ctx.response.headers };
      try {
        await next();
      } catch (err) {
        // Koa drops every header before writing its error answer, except those the error carries.
        if (err instanceof Error) Object.assign(err, { headers: { ...set, ...(err as { headers?: object }).headers } });
        throw err;
      }
    });
  };
}

/**
 * The merchant dashboard's pages and assets (docs/dashboard.md, "Security"): scripts, styles, fonts and API calls
 * from our own origin only — no inline script or style, no plugin, no <base> rewrite, never inside a frame. Images
 * may also be data: URLs (Pico CSS draws its form icons with them); the charts are drawn on a canvas.
 * upgrade-insecure-requests only where the public URL is https: over plain http it would break the page.
 */
export function dashboardContentSecurityPolicy(config: Pick<Config, 'publicBaseUrl'>): Middleware {
  const https = new URL(config.publicBaseUrl).protocol === 'https:';
  return helmet.contentSecurityPolicy({
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      ...(https ? { upgradeInsecureRequests: [] } : {}),
    },
  });
}
