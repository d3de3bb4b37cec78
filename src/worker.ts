import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { connectMongo } from './store/mongo';

/** The worker process: runs the payment workflows and their activities for one task queue. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.logLevel);
  const mongo = await connectMongo(config, { appName: 'settleflow-worker' });
  const connection = await NativeConnection.connect({ address: config.temporal.address });

  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: path.join(__dirname, '..', 'workflows'),
    activities: createActivities({ db: mongo.db }),
  });

  // Worker.run() handles SIGINT/SIGTERM itself: it stops polling, lets running tasks finish, then resolves.
  const running = worker.run();
  // The supervisor (npm start, the test stack) waits for this exact line.
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'settleflow-worker ready');
  await running;
  await connection.close();
  await mongo.client.close();
  logger.info('settleflow-worker stopped');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('settleflow-worker failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
