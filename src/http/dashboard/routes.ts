import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import type { Config } from '../../config';
import type { RequestState } from '../request-id';
import { developerRoutes, webhookSecretRoutes } from './developers';
import { dashboardBoundary, refuse } from './errors';
import { overviewRoutes } from './overview';
import { paymentDetailRoutes } from './payment-detail';
import { paymentRoutes } from './payments';
import { type DashboardState, requireMode, requireSession, sessionRoutes } from './session';

export interface DashboardDeps {
  config: Config;
  db: Db;
  client: Client;
}

/**
 * The dashboard's JSON API at `/dashboard/api/…` (docs/dashboard-api.md); the browser app's files, every other
 * `/dashboard` path, are `dashboardStatic` (src/http/dashboard/static.ts), mounted beside it. The API is its own
 * stack: its own body reader, errors and authentication (session cookie + CSRF header), nothing of the E-PRO
 * middleware.
 */
export function dashboardRoutes(deps: DashboardDeps): Middleware<RequestState> {
  const api = new Router<DashboardState>({ prefix: '/dashboard/api' });
  api.use(dashboardBoundary);
  sessionRoutes(api, deps);

  webhookSecretRoutes(api, deps);

  // The `/{mode}/…` routes, once per mode, each behind a session and the owner (the session's merchant and the
  // path's mode) that every query is built from. A path with any other mode matches none of them.
  for (const mode of ['test', 'live'] as const) {
    const scoped = new Router<DashboardState>();
    scoped.use(requireSession(deps.db), requireMode(deps.db));
    paymentRoutes(scoped, deps.db);
    paymentDetailRoutes(scoped, deps);
    overviewRoutes(scoped, deps.db);
    developerRoutes(scoped, deps);
    api.use(`/${mode}`, scoped.routes());
  }
  // Anything else under the API (another mode, a typo) is a JSON 404, never the app's HTML.
  api.all('/{*rest}', () => {
    throw refuse.notFound();
  });

  return api.routes() as unknown as Middleware<RequestState>;
}
