import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResourcesSync, envDetectorSync, Resource } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { TracingConfig } from '../config';

/**
 * OpenTelemetry tracing of SettleFlow's processes (docs/tracing.md): one trace per payment, from the API request
 * through update-with-start, the workflow and each activity to the processor call and the webhook delivery.
 *
 * Off unless the standard OTEL_* variables ask for it (src/config.ts, `tracing`): then no tracer provider is
 * registered, the Temporal interceptors are not installed, the worker runs the workflow bundle without them, and
 * the spans of ./spans.ts are the OpenTelemetry API's no-op spans.
 */

export interface Tracing {
  /** What the workflow spans are exported with (the worker's sink gets them across the workflow sandbox). */
  resource: Resource;
  spanProcessor: SpanProcessor;
  /** Exports what is still buffered, then stops the exporter. */
  shutdown(): Promise<void>;
}

/**
 * Registers the process's tracer provider (global, with the W3C trace-context propagator and the async-hooks
 * context manager) when tracing is on; undefined when it is off. `process` names the service unless
 * OTEL_SERVICE_NAME does.
 */
export function startTracing(config: TracingConfig, process: 'api' | 'worker'): Tracing | undefined {
  if (!config.enabled) return undefined;
  const resource = Resource.default()
    .merge(new Resource({ 'service.name': `settleflow-${process}` }))
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, which take precedence.
    .merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  // The exporters read their endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_* themselves, and
  // the batch processor its queue and delay from OTEL_BSP_*.
  const spanProcessor =
    config.exporter === 'console'
      ? new SimpleSpanProcessor(new ConsoleSpanExporter())
      : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register();
  return { resource, spanProcessor, shutdown: () => provider.shutdown() };
}
