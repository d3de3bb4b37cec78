import { configToEnv, loadConfig, TEMPORAL_CONNECTION_VARIABLES } from '../../src/config';
import { type StripeMock, startStripeMock } from '../../tools/servers';
import { type AppProcess, type Stack, stackProfileFromEnv, startStack } from '../../tools/stack';
import { testEnv } from './test-env';

declare global {
  // Shared with global-teardown, which runs in this same process.
  var settleflowTestStack: Stack | undefined;
  var settleflowTestStripeMock: StripeMock | undefined;
}

/** The stack's metrics URLs by scrape job (test/platform/prometheus.test.ts scrapes them with Prometheus). */
function metricsTargets(stack: Stack): Record<string, string[]> {
  const urls = (processes: (AppProcess | undefined)[], which: 'metricsUrl' | 'sdkMetricsUrl') =>
    processes.flatMap((proc) => (proc?.[which] ? [proc[which]] : []));
  const workers = [stack.worker, ...stack.moreWorkers];
  return {
    'settleflow-api': urls([stack.api, ...stack.moreApis], 'metricsUrl'),
    'settleflow-worker': urls(workers, 'metricsUrl'),
    'settleflow-worker-sdk': urls(workers, 'sdkMetricsUrl'),
    temporal: stack.temporalMetricsUrls,
  };
}

export default async function globalSetup(): Promise<void> {
  const runEnv = await testEnv();
  const config = loadConfig({ ...process.env, ...runEnv });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  // Stripe's API simulator, for the Stripe connector's tests: up in about a second and stateless, so one serves
  // every file (test/support/stripe-mock.ts). Started first, so that its first build never runs beside the stack's.
  const stripeMock = await startStripeMock({ dir: config.dataDir, log });
  let stack: Stack;
  try {
    // SETTLEFLOW_STACK=cluster runs the suite on the production-shaped Temporal cluster (tools/temporal-cluster.ts),
    // one worker and one API on it as on the dev server (the worker-crash tests stop "the" worker).
    stack = await startStack(config, { log, profile: stackProfileFromEnv() });
  } catch (err) {
    // The teardown does not run after a failed setup.
    await stripeMock.stop();
    throw err;
  }
  process.stderr.write(
    `[test] ${stack.profile} stack and stripe-mock up in ${((Date.now() - started) / 1000).toFixed(1)}s, data and logs in ${config.dataDir}\n`,
  );
  globalThis.settleflowTestStack = stack;
  globalThis.settleflowTestStripeMock = stripeMock;
  // Test files run in worker processes forked after this point: they read the stack's coordinates from env. The
  // cluster's frontend requires mTLS: its client certificate goes with the address (TEMPORAL_TLS_*).
  const stackEnv = configToEnv(stack.config);
  const temporalSecurity = Object.fromEntries(
    TEMPORAL_CONNECTION_VARIABLES.flatMap((name) => (stackEnv[name] !== undefined ? [[name, stackEnv[name]]] : [])),
  );
  Object.assign(process.env, runEnv, temporalSecurity, {
    TEMPORAL_ADDRESS: config.temporal.address,
    MONGODB_URL: config.mongo.url,
    ...config.vaultKeys.toEnv(),
    SETTLEFLOW_TEST_API_URL: stack.apiUrl,
    SETTLEFLOW_TEST_STRIPE_MOCK_URL: stripeMock.url,
    // Every process's metrics listener, by the scrape job deploy/observability/prometheus.yml gives it.
    SETTLEFLOW_TEST_METRICS_TARGETS: JSON.stringify(metricsTargets(stack)),
    ...(stack.cluster ? { SETTLEFLOW_TEST_POSTGRES_PORT: String(stack.cluster.postgres.port) } : {}),
  });
}
