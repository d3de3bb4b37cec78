import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createConnectors, type StripeConnectorOptions } from '../activities/psp';
import { ApplicationFailure } from '@temporalio/common';
import {
  createProcessorCredentialCache,
  MissingProcessorCredentialsError,
  type ProcessorCredentialCache,
} from './auth/processor-credentials';
import { type Config, ConfigError, loadConfig } from './config';
import { createLogger, temporalLogger } from './logger';
import { processMetrics } from './metrics/registry';
import { WorkerMetrics } from './metrics/worker-metrics';
import { connectMongo } from './store/mongo';
import { type OrphanCardPorts, releaseOrphanCards } from './commands/release-orphan-cards';
import { dropLegacyStartFields, findPayment } from './store/payment-records';
import { sweepEndedSessions } from './auth/dashboard-sessions';
import { backfillKeyIndex } from './store/api-keys';
import { backfillListing } from './store/payment-listing';
import { cardsCreatedBefore, deleteCard, sweepExpiredCards } from './store/vault';
import { workflowExists } from './temporal/payment-workflows';
import { workerOptions, workerWorkflowBundle } from './temporal/worker-options';
import { temporalConnectionOptions } from './temporal/connection-options';
import { startTracing } from './tracing/provider';
import { FAILURE_PROCESSOR_CREDENTIALS, workflowIdOfKey } from '../workflows/vocabulary';

/**
 * A payment request is over, answered or not, within the API's wait budget plus the start's confirmation and
 * existence checks (src/temporal/payment-workflows.ts): past this margin on top of the budget, a card copy it left is
 * judged by the orphan sweep.
 */
const REQUEST_OVER_MARGIN_MS = 30_000;

/**
 * The Stripe connector reads each merchant's key through the credentials cache (docs/connectors.md). A merchant
 * with no key stored (disconnected) cannot be helped by a retry: that failure is final for the payment.
 */
function stripeOptions(config: Config, credentials: ProcessorCredentialCache): StripeConnectorOptions {
  const secretKeys = credentials.secretKeys('stripe');
  const api = config.stripe.apiUrl ? new URL(config.stripe.apiUrl) : undefined;
  return {
    credentials: (account) =>
      secretKeys(account).catch((err: unknown) => {
        if (err instanceof MissingProcessorCredentialsError)
          throw ApplicationFailure.nonRetryable(err.message, FAILURE_PROCESSOR_CREDENTIALS);
        throw err;
      }),
    api: api && {
      host: api.hostname,
      port: Number(api.port || (api.protocol === 'https:' ? 443 : 80)),
      protocol: api.protocol === 'https:' ? 'https' : 'http',
    },
    allowTestKeysForLive: config.stripe.allowTestKeysForLive,
  };
}

/** `host:port` as a socket address (an IPv6 host in brackets). */
const socketAddress = (host: string, port: number) => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * The Temporal SDK's own metrics (docs/metrics.md, "Temporal"): Core's Prometheus exporter on a listener of its own,
 * with Prometheus's conventions (`_total` counters, durations in seconds with the unit in the name).
 */
function sdkTelemetry(config: Config) {
  if (config.metrics.sdkPort === 0) return {};
  return {
    telemetryOptions: {
      metrics: {
        prometheus: {
          bindAddress: socketAddress(config.metrics.host, config.metrics.sdkPort),
          countersTotalSuffix: true,
          unitSuffix: true,
          useSecondsForDurations: true,
        },
      },
    },
  };
}

/** The worker process: runs the payment workflows and their activities for one task queue. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('worker', config.logLevel);
  // The SDK's own lines (workflow and activity logs, retries, shutdown) go through the same JSON logger.
  Runtime.install({ logger: temporalLogger(logger), ...sdkTelemetry(config) });
  // Before any client or worker exists: their interceptors use the provider registered here (docs/tracing.md).
  const tracing = startTracing(config.tracing, 'worker');
  const mongo = await connectMongo(config, { appName: 'settleflow-worker' });
  const { registry, server: metricsServer } = processMetrics(config.metrics.host, config.metrics.workerPort, logger);
  const metrics = new WorkerMetrics(registry, mongo.db, { merchantLabel: config.metrics.merchantLabel });
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));

  const worker = await Worker.create({
    ...workerOptions(config, connection, tracing),
    workflowBundle: workerWorkflowBundle(tracing),
    activities: createActivities({
      db: mongo.db,
      config,
      metrics,
      connectors: createConnectors(mongo.db, {
        simulatorLatencyMs: config.simulatorLatencyMs,
        stripe: stripeOptions(config, createProcessorCredentialCache(mongo.db, config)),
      }),
    }),
  });

  // Housekeeping that FerretDB cannot do for us (no TTL indexes): card data past its expiry; card copies that no
  // payment uses, once the request that made them is surely over; once per process, what earlier versions left on
  // payment records (their request digests), and the dashboard listing of payments made before it existed.
  const client = new Client({
    connection: await Connection.connect(temporalConnectionOptions(config)),
    namespace: config.temporal.namespace,
  });
  const orphanPorts: OrphanCardPorts = {
    candidates: (before) => cardsCreatedBefore(mongo.db, before, 500),
    recordedToken: async (key) => {
      const record = await findPayment(mongo.db, key);
      return record === null ? null : record.vaultToken;
    },
    workflowExists: (key) => workflowExists(client, workflowIdOfKey(key)),
    deleteCard: (token) => deleteCard(mongo.db, token),
  };
  let legacyCleaned = false;
  let listingBackfilled = false;
  const housekeeping = setInterval(() => {
    if (!listingBackfilled) {
      // Once per process, and a no-op (one `_id` read) once a backfill has finished anywhere.
      listingBackfilled = true;
      Promise.all([backfillListing(mongo.db), backfillKeyIndex(mongo.db)]).then(
        ([listed, keys]) =>
          (listed > 0 || keys > 0) &&
          logger.info({ listed, keys }, 'listed the payments and filed the API keys made before the dashboard'),
        (err: unknown) => {
          listingBackfilled = false;
          logger.warn({ err }, 'payment listing backfill failed');
        },
      );
    }
    if (!legacyCleaned) {
      dropLegacyStartFields(mongo.db).then(
        (cleaned) => {
          legacyCleaned = true;
          if (cleaned > 0)
            logger.info({ cleaned }, 'removed request digests and reservation fields of earlier versions');
        },
        (err: unknown) => logger.warn({ err }, 'legacy record cleanup failed'),
      );
    }
    sweepEndedSessions(mongo.db).then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'ended dashboard sessions deleted'),
      (err: unknown) => logger.warn({ err }, 'dashboard session sweep failed'),
    );
    sweepExpiredCards(mongo.db).then(
      (deleted) => deleted > 0 && logger.info({ deleted }, 'vault sweep'),
      (err: unknown) => logger.warn({ err }, 'vault sweep failed'),
    );
    releaseOrphanCards(orphanPorts, new Date(Date.now() - config.apiWaitBudgetMs - REQUEST_OVER_MARGIN_MS)).then(
      (released) => released > 0 && logger.info({ released }, 'orphan card copies deleted'),
      (err: unknown) => logger.warn({ err }, 'orphan card sweep failed'),
    );
  }, config.sweepIntervalMs);
  housekeeping.unref();

  // Worker.run() handles SIGINT/SIGTERM itself: it stops polling, lets running tasks finish, then resolves.
  const running = worker.run();
  // The supervisor (npm start, the test stack) waits for this exact line: logged whatever LOG_LEVEL says.
  logger
    .child({}, { level: 'info' })
    .info({ taskQueue: config.temporal.taskQueue, namespace: config.temporal.namespace }, 'settleflow-worker ready');
  await running;
  clearInterval(housekeeping);
  metricsServer?.close();
  await tracing?.shutdown();
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
