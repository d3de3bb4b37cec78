import type { Middleware } from 'koa';
import { type ApiMetrics, codeLabel, endpointLabel } from '../metrics/api-metrics';

/**
 * Counts and times every request (docs/metrics.md, "API") by the route pattern it matched and the E-PRO Code it
 * answered: bounded labels only, never a path as the caller wrote it.
 */
export function requestMetrics(metrics: ApiMetrics): Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    let status: number | undefined;
    try {
      await next();
    } catch (err) {
      // Koa answers it (500 unless the error says otherwise): counted as what the caller will see.
      const said = (err as { status?: unknown } | null)?.status;
      status = typeof said === 'number' && said >= 400 && said < 600 ? said : 500;
      throw err;
    } finally {
      const endpoint = endpointLabel((ctx as { _matchedRoute?: unknown })._matchedRoute);
      const code = codeLabel(ctx.body);
      metrics.requests.inc({ endpoint, code, status: String(status ?? ctx.status) });
      metrics.requestDuration.observe({ endpoint, code }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  };
}
