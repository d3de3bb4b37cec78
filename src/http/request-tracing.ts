import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Middleware } from 'koa';
import { codeLabel, endpointLabel } from '../metrics/api-metrics';
import { TRACER_NAME } from '../tracing/spans';
import type { RequestState } from './request-id';

/**
 * A server span for every request (docs/tracing.md), the root of a payment's trace, or the child of the caller's
 * span when it sent a W3C `traceparent` (and `tracestate`). Named and labelled by the route pattern it matched and
 * the E-PRO Code it answered: never the path as the caller wrote it, a query string, a header or a body field.
 * Installed only when tracing is on.
 */
export function requestTracing(): Middleware<RequestState> {
  const tracer = trace.getTracer(TRACER_NAME);
  return async (ctx, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, ctx.headers);
    const span = tracer.startSpan(
      ctx.method,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': ctx.method, 'settleflow.request_id': ctx.state.requestId },
      },
      parent,
    );
    let failed = false;
    try {
      await context.with(trace.setSpan(parent, span), next);
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      const route = endpointLabel((ctx as { _matchedRoute?: unknown })._matchedRoute);
      span.updateName(`${ctx.method} ${route}`);
      span.setAttribute('http.route', route);
      span.setAttribute('http.response.status_code', failed ? 500 : ctx.status);
      const code = codeLabel(ctx.body);
      if (code !== 'none') span.setAttribute('epro.code', Number(code));
      if (failed || ctx.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}
