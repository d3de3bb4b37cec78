import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ActivityInterceptorsFactory, NativeConnection, WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import type { Tracing } from '../tracing/provider';
import { activityLogContext } from './activity-log-context';
import { workflowBundle } from './workflow-bundle';

/** Each activity in a span of its own, a child of the workflow's `StartActivity` span (docs/tracing.md). */
const activityTracing: ActivityInterceptorsFactory = (ctx) => ({
  inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
  outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
});

/**
 * The workflow-info fields a workflow span keeps. The sink copies the whole of the workflow's info onto each span
 * it carries out of the sandbox, search attributes (the Tid, the amount) and memo included: only the execution's
 * identity stays, with the attributes the interceptors set themselves (`temporal…`). docs/tracing.md.
 */
const WORKFLOW_SPAN_ATTRIBUTES = new Set(['workflowId', 'runId', 'workflowType', 'taskQueue', 'namespace', 'attempt']);

/** Hands workflow spans on to `next` with only the attributes above. */
export function workflowSpanFilter(next: SpanProcessor): SpanProcessor {
  return {
    onStart: (span: Span, context: Context) => next.onStart(span, context),
    onEnd: (span: ReadableSpan) =>
      next.onEnd({
        ...span,
        spanContext: span.spanContext,
        attributes: Object.fromEntries(
          Object.entries(span.attributes).filter(
            ([key, value]) =>
              (WORKFLOW_SPAN_ATTRIBUTES.has(key) || key.startsWith('temporal')) &&
              ['string', 'number', 'boolean'].includes(typeof value),
          ),
        ),
      }),
    forceFlush: () => next.forceFlush(),
    shutdown: () => next.shutdown(),
  };
}

/**
 * The worker settings every SettleFlow worker runs with, in one place, so a benchmark's baseline worker is tuned
 * exactly like the payment worker it is compared with. With `tracing`, the OpenTelemetry interceptors and the sink
 * that carries the workflow's spans out of its sandbox to the exporter.
 */
export function workerOptions(
  config: Config,
  connection: NativeConnection,
  tracing?: Tracing,
): Pick<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'interceptors' | 'sinks'> {
  return {
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    interceptors: { activity: tracing ? [activityLogContext, activityTracing] : [activityLogContext] },
    ...(tracing
      ? { sinks: { exporter: makeWorkflowExporter(workflowSpanFilter(tracing.spanProcessor), tracing.resource) } }
      : {}),
  };
}

/** The workflow bundle that matches `workerOptions`: the traced one when tracing is on. */
export function workerWorkflowBundle(tracing?: Tracing): { codePath: string } {
  return workflowBundle(tracing !== undefined);
}
