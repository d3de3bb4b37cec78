import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import type { Db } from 'mongodb';
import { createProcessorCredentialCache } from '../auth/processor-credentials';
import type { ApiKeyVerifier } from '../auth/verifier';
import type { Config } from '../config';
import type { Logger } from '../logger';
import type { ApiMetrics } from '../metrics/api-metrics';
import { projectRoot } from '../paths';
import { pingMongo } from '../store/mongo';
import { type Temporal, temporalReachable } from '../temporal/client';
import { dashboardRoutes } from './dashboard/routes';
import { dashboardStatic } from './dashboard/static';
import { authenticate, eproBoundary, type EproState, parseBody } from './epro-middleware';
import { healthRoutes } from './health';
import { type RequestState, requestContext } from './request-id';
import { requestMetrics } from './request-metrics';
import { requestTracing } from './request-tracing';
import { RequestRateLimiter, requestRateLimit } from './request-rate-limit';
import { paymentHandler } from './routes/payment';
import { processorEventRoutes } from './routes/processor-events';
import { refundHandler } from './routes/refund';
import { statusHandler } from './routes/status';
import { securityHeaders } from './security-headers';
import { threeDSRoutes } from './three-ds/routes';

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Db;
  temporal: Temporal;
  verifier: ApiKeyVerifier;
  /** The API's metrics (docs/metrics.md); absent in tests that build the app alone. */
  metrics?: ApiMetrics;
  /** A span per request, after the health probes (docs/tracing.md): on when the process traces. */
  tracing?: boolean;
}

const OPENAPI_FILE = path.join(projectRoot, 'docs', 'openapi.yaml');

/** The three E-PRO endpoints, each a readable chain: envelope boundary → key and account → rate → body → handler. */
function eproRoutes(deps: AppDeps): Router<EproState> {
  const router = new Router<EproState>();
  const rate = requestRateLimit(new RequestRateLimiter(deps.db), deps.config.throttle.requestsPerMinute, deps.metrics);
  const chain = [eproBoundary, authenticate(deps.verifier, deps.metrics), rate, parseBody] as const;
  router.all(
    '/v1/payment/direct',
    ...chain,
    paymentHandler({ db: deps.db, client: deps.temporal.client, config: deps.config, metrics: deps.metrics }),
  );
  router.all('/v1/refund/direct', ...chain, refundHandler(deps.db, deps.temporal.client, deps.config.apiWaitBudgetMs));
  router.all('/v1/status/direct', ...chain, statusHandler(deps.db));
  return router;
}

export function createApp(deps: AppDeps): Koa<RequestState> {
  const app = new Koa<RequestState>();
  // Errors are turned into envelopes by the routes' own boundary; Koa's default stderr dump would leak detail.
  app.silent = true;
  app.on('error', (err: Error) => deps.logger.error({ err }, 'unhandled'));
  // Behind a proxy that sets X-Forwarded-For, the client address (failure budgets) is taken from it.
  app.proxy = deps.config.throttle.trustProxy;

  app.use(securityHeaders(deps.config));
  app.use(requestContext(deps.logger));
  if (deps.metrics) app.use(requestMetrics(deps.metrics));
  const health = healthRoutes({
    temporal: () => temporalReachable(deps.temporal, deps.config.temporal.namespace),
    mongo: () => pingMongo(deps.db),
  });
  app.use(health.routes());
  if (deps.tracing) app.use(requestTracing());

  const docs = new Router();
  const openapi = readFileSync(OPENAPI_FILE, 'utf8');
  docs.get('/openapi.yaml', (ctx) => {
    ctx.type = 'application/yaml';
    ctx.body = openapi;
  });
  app.use(docs.routes());

  const threeDS = threeDSRoutes({ db: deps.db, client: deps.temporal.client, config: deps.config });
  app.use(threeDS.routes());

  const processorCredentials = createProcessorCredentialCache(deps.db, deps.config);
  const processorEvents = processorEventRoutes({
    db: deps.db,
    client: deps.temporal.client,
    stripeWebhookSecrets: (account) => processorCredentials.webhookSecrets(account, 'stripe'),
  });
  app.use(processorEvents.routes());

  // The merchant dashboard (docs/dashboard.md): its JSON API under /dashboard/api/, and the browser app.
  app.use(dashboardRoutes({ config: deps.config, db: deps.db, client: deps.temporal.client }));
  app.use(dashboardStatic(deps.config));

  const epro = eproRoutes(deps);
  app.use(epro.routes() as unknown as Koa.Middleware<RequestState>);
  return app;
}
