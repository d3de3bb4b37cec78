import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateStage } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import Koa from 'koa';
import { MongoClient } from 'mongodb';
import type { Principal } from '../src/auth/verifier';
import { loadConfig } from '../src/config';
import { eproBoundary, type EproState, parseBody } from '../src/http/epro-middleware';
import { requestContext } from '../src/http/request-id';
import { statusHandler } from '../src/http/routes/status';
import { createLogger } from '../src/logger';
import { findMerchant } from '../src/store/merchants';
import { findPayment } from '../src/store/payment-records';
import { paymentKey } from '../workflows/vocabulary';
import { SA_AMOUNT, SA_MERCHANT_ID, SA_MODE, SA_STATUS, SA_TID } from '../workflows/search-attributes';
import { BENCH_TASK_QUEUE, benchDecisionUpdate, type benchNoopWorkflow } from './workflows';
import { temporalConnectionOptions } from '../src/temporal/connection-options';

/**
 * The baselines of the benchmark, in a process of their own (so the API's numbers are not shared with them):
 *
 *   POST /noop           bare Koa answering {"Code":0}: the HTTP ceiling of Node + Koa on this machine.
 *   POST /read           bare Koa: the body parsed and the record read by Tid, nothing else. The most any status
 *                        answer through Koa can reach here.
 *   POST /status-noauth  the real status chain (request log, envelope, body parsing, the projection `_id` read) with
 *                        the merchant fixed instead of authenticated: the reference for what auth costs.
 *   POST /engine         update-with-start of the no-op workflow (bench/workflows.ts) waiting for its decision,
 *                        started with the payment's start options: the engine ceiling.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('bench-baseline', config.logLevel);
  const merchantId = process.env.BENCH_MERCHANT_ID;
  if (!merchantId) throw new Error('BENCH_MERCHANT_ID is required');

  const mongo = new MongoClient(config.mongo.url, { appName: 'settleflow-bench-baseline', retryWrites: false });
  const db = mongo.db(config.mongo.dbName);
  const merchant = await findMerchant(db, merchantId);
  if (!merchant) throw new Error(`no merchant ${merchantId}`);
  const principal: Principal = { keyId: 'bench', mode: 'test', merchant };

  const connection = Connection.lazy({ ...temporalConnectionOptions(config), connectTimeout: '5s' });
  const client = new Client({ connection, namespace: config.temporal.namespace });

  const router = new Router<EproState>();
  router.post('/noop', (ctx) => {
    ctx.body = { Code: 0 };
  });

  const fixedPrincipal: Koa.Middleware<EproState> = async (ctx, next) => {
    ctx.state.principal = principal;
    await next();
  };
  // The status read and nothing around it: no request log, no envelope boundary, no auth, no validation.
  router.post('/read', parseBody, async (ctx) => {
    const record = await findPayment(db, paymentKey('test', merchantId, String(ctx.state.body.Tid)));
    ctx.body = record ? { Code: 0, Result: { Status: record.status } } : { Code: 6, Error: 'not found' };
  });

  router.post(
    '/status-noauth',
    requestContext(logger) as Koa.Middleware<EproState>,
    eproBoundary,
    fixedPrincipal,
    parseBody,
    statusHandler(db),
  );

  router.post('/engine', async (ctx) => {
    const id = randomUUID();
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof benchNoopWorkflow>('benchNoopWorkflow', {
      workflowId: `bench-engine-${id}`,
      taskQueue: BENCH_TASK_QUEUE,
      args: [],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      // The payment's start carries these; the ceiling must pay for them too.
      typedSearchAttributes: new TypedSearchAttributes([
        { key: SA_TID, value: id },
        { key: SA_MERCHANT_ID, value: merchantId },
        { key: SA_MODE, value: 'test' },
        { key: SA_STATUS, value: 'pending' },
        { key: SA_AMOUNT, value: 1234 },
      ]),
      staticSummary: `Bench ${id}`,
    });
    try {
      const handle = await client.workflow.startUpdateWithStart(benchDecisionUpdate, {
        waitForStage: WorkflowUpdateStage.ACCEPTED,
        startWorkflowOperation,
      });
      const decision = await handle.result();
      // Shaped like a payment answer, so the load tool checks both the same way.
      ctx.body = { Code: 0, Result: { Status: decision.status, Date: decision.date } };
    } catch (err) {
      logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'engine start failed');
      ctx.status = 500;
      ctx.body = { Code: 9 };
    }
  });

  const app = new Koa<EproState>();
  app.silent = true;
  app.use(router.routes());
  const port = Number(process.env.BENCH_BASELINE_PORT);
  const server = app.listen(port, config.host, () => logger.info({ port }, 'bench-baseline ready'));

  const stop = () => {
    server.close();
    void Promise.allSettled([mongo.close(), connection.close()]).then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error('bench-baseline failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
