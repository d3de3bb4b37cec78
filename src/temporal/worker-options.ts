import type { NativeConnection, WorkerOptions } from '@temporalio/worker';
import type { Config } from '../config';
import { activityLogContext } from './activity-log-context';

/**
 * The worker settings every SettleFlow worker runs with, in one place, so a benchmark's baseline worker is tuned
 * exactly like the payment worker it is compared with.
 */
export function workerOptions(
  config: Config,
  connection: NativeConnection,
): Pick<WorkerOptions, 'connection' | 'namespace' | 'taskQueue' | 'interceptors'> {
  return {
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    interceptors: { activity: [activityLogContext] },
  };
}
