import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createConnectors } from '../activities/psp';
import { ConfigError, loadConfig } from './config';
import { createLogger, temporalLogger } from './logger';
import { connectMongo } from './store/mongo';
import { sweepExpiredCards } from './store/vault';
import { settleStrandedReservations } from './temporal/reservation-sweep';
import { workerOptions } from './temporal/worker-options';
import { workflowBundle } from './temporal/workflow-bundle';

/** Reservations are settled once their request is surely over: the API's wait budget plus this margin. */
const RESERVATION_GRACE_MS = 60_000;

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

  // Housekeeping that FerretDB cannot do for us (no TTL indexes) and that no request path owns: card data past its
  // expiry, and Tid reservations whose request ended without knowing whether its workflow started.
  const client = new Client({ connection: await Connection.connect({ address: config.temporal.address }), namespace: config.temporal.namespace });
  const housekeeping = setInterval(() => {
    sweepExpiredCards(mongo.db).then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'vault sweep'),
      (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'vault sweep failed'),
    );
    settleStrandedReservations(mongo.db, client, config.apiWaitBudgetMs + RESERVATION_GRACE_MS).then(
      (settled) => (settled.adopted || settled.released || settled.digestsDropped) && logger.info(settled, 'reservation sweep'),
      (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'reservation sweep failed'),
    );
  }, config.sweepIntervalMs);
  housekeeping.unref();

  // Worker.run() handles SIGINT/SIGTERM itself: it stops polling, lets running tasks finish, then resolves.
  const running = worker.run();
  // The supervisor (npm start, the test stack) waits for this exact line: logged whatever LOG_LEVEL says.
  logger.child({}, { level: 'info' }).info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'settleflow-worker ready');
  await running;
  clearInterval(housekeeping);
  await client.connection.close();
  await connection.close();
  await mongo.client.close();
  logger.info('settleflow-worker stopped');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('settleflow-worker failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
