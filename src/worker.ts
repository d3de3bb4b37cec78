import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createConnectors } from '../activities/psp';
import { ConfigError, loadConfig } from './config';
import { createLogger, temporalLogger } from './logger';
import { connectMongo } from './store/mongo';
import { dropLegacyStartFields } from './store/payments';
import { sweepExpiredCards } from './store/vault';
import { workerOptions } from './temporal/worker-options';
import { workflowBundle } from './temporal/workflow-bundle';

/** The worker process: runs the payment workflows and their activities for one task queue. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.logLevel);
  // The SDK's own lines (workflow and activity logs, retries, shutdown) go through the same JSON logger.
  Runtime.install({ logger: temporalLogger(logger) });
  const mongo = await connectMongo(config, { appName: 'settleflow-worker' });
  const connection = await NativeConnection.connect({ address: config.temporal.address });

  const worker = await Worker.create({
    ...workerOptions(config, connection),
    workflowBundle: workflowBundle(),
    activities: createActivities({ db: mongo.db, config, connectors: createConnectors(mongo.db, { simulatorLatencyMs: config.simulatorLatencyMs }) }),
  });

  // Housekeeping that FerretDB cannot do for us (no TTL indexes): card data past its expiry, such as the copy a
  // payment request left behind when its workflow never started; once per process, what earlier versions left on
  // payment records (their request digests).
  let legacyCleaned = false;
  const housekeeping = setInterval(() => {
    if (!legacyCleaned) {
      dropLegacyStartFields(mongo.db).then(
        (cleaned) => {
          legacyCleaned = true;
          if (cleaned > 0) logger.info({ cleaned }, 'removed request digests and reservation fields of earlier versions');
        },
        (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'legacy record cleanup failed'),
      );
    }
    sweepExpiredCards(mongo.db).then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'vault sweep'),
      (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'vault sweep failed'),
    );
  }, config.sweepIntervalMs);
  housekeeping.unref();

  // Worker.run() handles SIGINT/SIGTERM itself: it stops polling, lets running tasks finish, then resolves.
  const running = worker.run();
  // The supervisor (npm start, the test stack) waits for this exact line: logged whatever LOG_LEVEL says.
  logger.child({}, { level: 'info' }).info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'settleflow-worker ready');
  await running;
  clearInterval(housekeeping);
  await connection.close();
  await mongo.client.close();
  logger.info('settleflow-worker stopped');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('settleflow-worker failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
