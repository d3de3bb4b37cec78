import Router from '@koa/router';

export interface HealthChecks {
  temporal: () => Promise<boolean>;
  mongo: () => Promise<boolean>;
}

async function probe(check: () => Promise<boolean>): Promise<'ok' | 'down'> {
  try {
    return (await check()) ? 'ok' : 'down';
  } catch {
    return 'down';
  }
}

/**
 * Liveness and readiness for orchestrators and the local supervisor. Not E-PRO endpoints: they answer with
 * ordinary HTTP status codes so a load balancer can act on them.
 */
export function healthRoutes(checks: HealthChecks): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/ready', async (ctx) => {
    const [temporal, mongo] = await Promise.all([probe(checks.temporal), probe(checks.mongo)]);
    const ready = temporal === 'ok' && mongo === 'ok';
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not ready', temporal, mongo };
  });
  return router;
}
