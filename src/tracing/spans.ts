import { type Attributes, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * SettleFlow's own spans (docs/tracing.md), through the OpenTelemetry API alone: without a registered provider
 * (tracing off, ./provider.ts) they are its no-op spans, and nothing of the SDK is loaded.
 */

/** The name every SettleFlow span's instrumentation scope carries. */
export const TRACER_NAME = 'settleflow';

/**
 * Runs `fn` in a span of its own, a child of the active one: ended when `fn` settles, marked as an error when it
 * throws. Attributes must be safe to keep: never card data, a secret or a merchant's own identifiers
 * (docs/tracing.md, "What spans carry").
 */
export async function inSpan<T>(
  name: string,
  options: { kind?: SpanKind; attributes?: Attributes },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, options, context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      // The error's type only: messages can quote what a processor or a receiver said.
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.name : 'error' });
      throw err;
    } finally {
      span.end();
    }
  });
}

export { SpanKind };
