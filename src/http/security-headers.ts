import type { Middleware } from 'koa';
import helmet from 'koa-helmet';
import type { Config } from '../config';

/**
 * Security headers on every answer of the API process: E-PRO endpoints, health, the OpenAPI document and the
 * 3-D Secure pages (docs/authentication.md, "Security headers"). helmet's set (nosniff, frame and referrer
 * policies, ...) plus `Cache-Control: no-store`, since answers carry payment data and must not be kept by
 * browsers or proxies; HSTS only when customers and merchants reach us over https (PUBLIC_BASE_URL). helmet's
 * Content-Security-Policy is left out: the only HTML, the 3-D Secure pages, sets a stricter policy of its own.
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
