import path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createConnectors } from '../activities/psp';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { connectMongo } from './store/mongo';
import { sweepExpiredCards } from './store/vault';

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
    activities: createActivities({ db: mongo.db, config, connectors: createConnectors(mongo.db, { simulatorLatencyMs: config.simulatorLatencyMs }) }),
  });

  // Card data of payments that ended abnormally (or whose workflow never started) must not outlive its purpose:
  // FerretDB has no TTL indexes, so an explicit periodic sweep deletes vault entries past their expiry.
  const sweep = setInterval(() => {
    sweepExpiredCards(mongo.db).then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'vault sweep'),
      (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'vault sweep failed'),
    );
  }, config.vaultSweepIntervalMs);
  sweep.unref();

  // Worker.run() handles SIGINT/SIGTERM itself: it stops polling, lets running tasks finish, then resolves.
  const running = worker.run();
  // The supervisor (npm start, the test stack) waits for this exact line.
  logger.info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'settleflow-worker ready');
  await running;
  clearInterval(sweep);
  await connection.close();
  await mongo.client.close();
  logger.info('settleflow-worker stopped');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('settleflow-worker failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
