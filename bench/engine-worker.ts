import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { loadConfig } from '../src/config';
import { createLogger, temporalLogger } from '../src/logger';
import { workerOptions } from '../src/temporal/worker-options';
import { BENCH_TASK_QUEUE, type BenchActivities } from './workflows';
import { temporalConnectionOptions } from '../src/temporal/connection-options';

/**
 * The engine-ceiling worker: the payment worker's settings (src/temporal/worker-options.ts) on a task queue of
 * its own, running only the no-op workflow, so the only difference from payments is the work itself.
 */
const noop = (): Promise<void> => Promise.resolve();
const activities: BenchActivities = {
  authorizePayment: noop,
  projectPayment: noop,
  capturePayment: noop,
  releaseCard: noop,
};

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('bench-engine-worker', config.logLevel);
  Runtime.install({ logger: temporalLogger(logger) });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  const worker = await Worker.create({
    ...workerOptions(config, connection),
    taskQueue: BENCH_TASK_QUEUE,
    workflowsPath: require.resolve('./workflows'),
    activities,
  });
  const running = worker.run();
  // The bench waits for this exact line, as the stack waits for the payment worker's.
  logger.info({ taskQueue: BENCH_TASK_QUEUE }, 'bench-engine-worker ready');
  await running;
  await connection.close();
}

main().catch((err: unknown) => {
  console.error('bench-engine-worker failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
