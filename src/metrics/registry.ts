import http from 'node:http';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Logger } from '../logger';

/**
 * Every label name a SettleFlow metric may carry (docs/metrics.md), Node's default metrics included. Nothing that
 * names one payment, one key or one card is here (no Tid, Reference, key id, request id, URL or card data), so the
 * number of series stays bounded whatever the traffic; `merchant` only exists when the operator opts in
 * (METRICS_MERCHANT_LABEL). test/unit/metrics-labels.test.ts checks every registered metric against this list.
 */
export const ALLOWED_LABELS = [
  // SettleFlow's own
  'endpoint',
  'code',
  'status',
  'mode',
  'connector',
  'reason',
  'result',
  'outcome',
  'threeds',
  'merchant',
  // Node's default metrics (prom-client)
  'version',
  'major',
  'minor',
  'patch',
  'kind',
  'space',
  'type',
] as const;

export type MetricsRegistry = Registry;

/**
 * One registry per process, with Node's default metrics (CPU, memory, event loop lag, GC) on it unless
 * `defaultMetrics` is false: a process whose listener is off (port 0, docs/metrics.md) has no one to read them, and
 * their event-loop delay histogram and GC observer would run for nothing.
 */
export function createRegistry({ defaultMetrics = true }: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Serves `GET /metrics` from `registry` on a listener of its own (docs/metrics.md: loopback by default, never the
 * merchant-facing port), in Prometheus's text format 0.0.4. Total: anything else is 404, a failure while collecting
 * is a 500 with a line of text, and a listener that cannot bind is logged, not fatal (the process serves payments
 * without its metrics rather than not at all).
 */
export function serveMetrics(registry: Registry, host: string, port: number, logger: Logger): http.Server {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(req.method === 'HEAD' ? '' : text),
      (err: unknown) => {
        logger.warn({ err }, 'metrics collection failed');
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      },
    );
  });
  server.on('error', (err) => logger.error({ err, host, port }, 'metrics listener failed: metrics are not served'));
  server.listen(port, host, () => logger.info({ url: `http://${host}:${port}/metrics` }, 'metrics listener ready'));
  // Never what keeps the process alive.
  server.unref();
  return server;
}

/**
 * A process's metrics as its configuration asks (docs/metrics.md): the registry, and the listener serving it,
 * unless the port is 0, which turns both the listener and Node's default metrics off (no one would read them).
 */
export function processMetrics(
  host: string,
  port: number,
  logger: Logger,
): { registry: Registry; server?: http.Server } {
  const on = port !== 0;
  const registry = createRegistry({ defaultMetrics: on });
  return { registry, server: on ? serveMetrics(registry, host, port, logger) : undefined };
}
