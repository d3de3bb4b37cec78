import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { createApiKeyVerifier } from './auth/verifier';
import { ConfigError, loadConfig } from './config';
import { createApp } from './http/app';
import { createLogger } from './logger';
import { ApiMetrics } from './metrics/api-metrics';
import { processMetrics } from './metrics/registry';
import { temporalConnectionOptions } from './temporal/connection-options';
import { startTracing } from './tracing/provider';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';

/**
 * The API process. It boots even while Temporal or MongoDB are unreachable (both connect lazily), so that it
 * can answer merchants with Code 9 and report itself not ready, instead of crash-looping.
 */
function main(): void {
  const config = loadConfig();
  const logger = createLogger('api', config.logLevel);
  // Before the client exists: its interceptor uses the provider registered here (docs/tracing.md).
  const tracing = startTracing(config.tracing, 'api');

  const mongoClient = new MongoClient(config.mongo.url, {
    appName: 'settleflow-api',
    serverSelectionTimeoutMS: 5000,
    retryWrites: false,
  });
  const db = mongoClient.db(config.mongo.dbName);
  const connection = Connection.lazy({ ...temporalConnectionOptions(config), connectTimeout: '5s' });
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    // Update-with-start carries the request's trace context to the workflow in a header of its own.
    ...(tracing ? { interceptors: { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } } : {}),
  });

  // Metrics on a listener of their own (docs/metrics.md), never on the merchant-facing port.
  const { registry, server: metricsServer } = processMetrics(config.metrics.host, config.metrics.apiPort, logger);
  const metrics = new ApiMetrics(registry);
  const verifier = createApiKeyVerifier(db, config, metrics);
  const app = createApp({
    config,
    logger,
    db,
    temporal: { connection, client },
    verifier,
    metrics,
    tracing: tracing !== undefined,
  });
  const server = app.listen(config.port, config.host, () => {
    logger.info({ url: `http://${config.host}:${config.port}` }, 'settleflow-api ready');
  });
  // Bound slow clients: a request that trickles its body must not hold a socket forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 15_000;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'settleflow-api stopping');
    metricsServer?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.allSettled([mongoClient.close(), connection.close(), tracing?.shutdown()]);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

try {
  main();
} catch (err) {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('settleflow-api failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
}
