import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry';
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
    ...(tracing ? { sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) } } : {}),
  };
}

/** The workflow bundle that matches `workerOptions`: the traced one when tracing is on. */
export function workerWorkflowBundle(tracing?: Tracing): { codePath: string } {
  return workflowBundle(tracing !== undefined);
}
