import Koa from 'koa';
import type { Db } from 'mongodb';
import type { Config } from '../config';
import type { Logger } from '../logger';
import { pingMongo } from '../store/mongo';
import { type Temporal, temporalReachable } from '../temporal/client';
import { healthRoutes } from './health';
import { type RequestState, requestContext } from './request-id';

export interface AppDeps {
  config: Config;
  logger: Logger;
  db: Db;
  temporal: Temporal;
}

export function createApp(deps: AppDeps): Koa<RequestState> {
  const app = new Koa<RequestState>();
  // Errors are turned into envelopes by the routes' own boundary; Koa's default stderr dump would leak detail.
  app.silent = true;
  app.on('error', (err: Error) => deps.logger.error({ err: { name: err.name, message: err.message } }, 'unhandled'));

  app.use(requestContext(deps.logger));
  const health = healthRoutes({
    temporal: () => temporalReachable(deps.temporal, deps.config.temporal.namespace),
    mongo: () => pingMongo(deps.db),
  });
  app.use(health.routes()).use(health.allowedMethods());
  return app;
}
