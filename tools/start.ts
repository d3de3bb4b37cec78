import path from 'node:path';
import { MongoClient } from 'mongodb';
import { ConfigError, displayMongoUrl, loadConfig } from '../src/config';
import { projectRoot } from './binaries';
import { ensureDemoMerchant } from './demo-merchant';
import { type Stack, stackProfileFromEnv, startStack } from './stack';

/**
 * `npm start`: the whole system on embedded defaults (or on the servers named by TEMPORAL_ADDRESS and
 * MONGODB_URL), a demo sandbox merchant, and one banner with everything needed to send a first payment.
 * `npm run start:cluster` (`--cluster`, or SETTLEFLOW_STACK=cluster): the same on the production-shaped Temporal
 * cluster (tools/temporal-cluster.ts), with two workers and two APIs, its data in `.data/cluster` unless DATA_DIR
 * says otherwise (the dev server's workflows and the cluster's must not share one MongoDB database).
 * SETTLEFLOW_JAEGER=1 (or `--jaeger`): Jaeger too, with the worker and API tracing to it (docs/tracing.md).
 */
async function main(): Promise<void> {
  const profile = process.argv.includes('--cluster') ? 'cluster' : stackProfileFromEnv();
  const config = loadConfig(
    profile === 'cluster' && !process.env.DATA_DIR
      ? { ...process.env, DATA_DIR: path.join(projectRoot, '.data', 'cluster') }
      : process.env,
  );
  const started = Date.now();
  const jaeger = process.argv.includes('--jaeger') || ['1', 'true'].includes(process.env.SETTLEFLOW_JAEGER ?? '');
  const stack = await startStack(config, { profile, replicas: profile === 'cluster' ? 2 : 1, jaeger });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n[stack] ${signal}: stopping API, worker and servers…`);
    await stack.stop();
    console.log('[stack] stopped; data kept in', config.dataDir);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));

  const mongo = new MongoClient(config.mongo.url, { retryWrites: false });
  const demo = await ensureDemoMerchant(mongo.db(config.mongo.dbName), config).finally(() => mongo.close());

  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  // The stack's effective configuration: it opens private targets to sandbox webhooks unless told otherwise.
  const webhookTargets = stack.config.webhook.allowPrivateTargets
    ? 'sandbox ones may reach loopback and private addresses (WEBHOOK_ALLOW_PRIVATE_TARGETS=true); live ones: public https only'
    : 'public addresses only, sandbox included (WEBHOOK_ALLOW_PRIVATE_TARGETS=false): a CallbackUrl on this machine is refused';
  console.log(`
SettleFlow is running (up in ${seconds}s). Ctrl-C stops everything; data stays in ${config.dataDir}.

  API                 ${stack.apiUrls.join('   ')}   (POST /v1/payment/direct, /v1/refund/direct, /v1/status/direct)
  Temporal Web UI     ${config.temporal.uiUrl}/namespaces/${config.temporal.namespace}/workflows
  Temporal gRPC       ${config.temporal.address}   namespace ${config.temporal.namespace}
${clusterLines(stack)}${jaegerLine(stack)}  MongoDB wire        ${displayMongoUrl(config.mongo.url)}   database ${config.mongo.dbName}${stack.ferretdbBackend ? `   (FerretDB on ${stack.ferretdbBackend})` : ''}
  Logs                ${config.dataDir}/logs/
  Webhooks            ${webhookTargets}

  Demo merchant       ${demo.merchantId}${demo.created ? '   (created now)' : ''}
  Sandbox API key     ${demo.testKey}
  Webhook secret      ${demo.webhookSecret}
  Dashboard           ${stack.apiUrl}/dashboard
  Dashboard sign-in   ${demo.dashboardEmail}   password ${demo.dashboardPassword}

Try it:
  curl -s -X POST ${stack.apiUrl}/v1/payment/direct -H 'epro-api-key: ${demo.testKey}' \\
    -d Amount=1234 -d Uid=customer-42 -d Tid=order-$(date +%s) -d Email=jane@example.com \\
    -d CardNumber=4111111111111111 -d CardMonth=12 -d CardYear=2030 -d CardCVV=123
`);
}

/** Where a payment's trace is seen, when the stack runs Jaeger. */
function jaegerLine(stack: Stack): string {
  if (!stack.jaeger) return '';
  return (
    `  Jaeger              ${stack.jaeger.uiUrl}   (trace viewer and /api/traces; traces of settleflow-api and ` +
    'settleflow-worker, in memory: docs/tracing.md)\n'
  );
}

/** The cluster profile's processes, one line each: what runs where. */
function clusterLines(stack: Stack): string {
  const cluster = stack.cluster;
  if (!cluster) return '';
  const pids = [...cluster.processes.entries()].map(([name, proc]) => `${name} ${proc.child.pid}`).join(', ');
  const workers = [stack.worker, ...stack.moreWorkers].map((proc) => proc?.child.pid).join(', ');
  return (
    `  Temporal cluster    processes (pid): ${pids}\n` +
    `  PostgreSQL          ${cluster.postgres.host}:${cluster.postgres.port}   user ${cluster.postgres.user}, ` +
    `databases temporal, temporal_visibility${stack.ferretdbBackend === 'postgresql' ? ', ferretdb (FerretDB)' : ''} ` +
    `(pid ${cluster.postgres.server.child.pid}; ` +
    `password in ${path.join(stack.config.dataDir, 'temporal-cluster', 'postgres', 'password')})\n` +
    `  Temporal mTLS       the frontend requires a client certificate of the cluster's CA (made at start, 30 days):\n` +
    `                      TEMPORAL_TLS_CA=${cluster.clientTls.caFile}\n` +
    `                      TEMPORAL_TLS_CERT=${cluster.clientTls.clientCertFile}\n` +
    `                      TEMPORAL_TLS_KEY=${cluster.clientTls.clientKeyFile}\n` +
    `                      TEMPORAL_TLS_SERVER_NAME=${cluster.clientTls.serverName}\n` +
    `                      (with TEMPORAL_ADDRESS=${cluster.frontendAddress}: what \`npx settleflow …\` needs to reach it)\n` +
    `  SettleFlow workers  pids ${workers}\n`
  );
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError
      ? err.message
      : `[stack] failed to start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
