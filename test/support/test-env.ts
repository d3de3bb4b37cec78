import path from 'node:path';
import { freePort } from '../../tools/ports';
import { removeStaleRunDirs } from '../../tools/run-dirs';

/**
 * Where a test run's stack lives: free ports and a data dir of its own, so `npm test` never touches a running
 * `npm start`, and two runs on one machine never collide. TEMPORAL_ADDRESS / MONGODB_URL, when set, make the
 * suite reuse those servers instead of starting its own.
 */
const TEST_ROOT = path.resolve(__dirname, '..', '..', '.data', 'test');

export async function testEnv(): Promise<Record<string, string>> {
  removeStaleRunDirs(TEST_ROOT);
  const [api, temporal, ui, ferretdb] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  return {
    NODE_ENV: 'test',
    PORT: String(api),
    TEMPORAL_PORT: String(temporal),
    TEMPORAL_UI_PORT: String(ui),
    FERRETDB_PORT: String(ferretdb),
    DATA_DIR: path.join(TEST_ROOT, `run-${process.pid}`),
    MONGODB_DB: 'settleflow_test',
    LOG_LEVEL: 'info',
    // Short lifecycle durations, so timeouts and retries are exercised in seconds (never by faking time).
    THREEDS_TIMEOUT: '20s',
    WEBHOOK_INITIAL_BACKOFF: '200',
    WEBHOOK_MAX_RETRY_SANDBOX: '2m',
    API_WAIT_BUDGET: '10s',
    KEY_CACHE_TTL: '2s',
    // The webhook suites' receivers listen on loopback. Set here, not left to the stack's local default, so the
    // test files' own clients (the admin command, deliverEvent) see the same setting as the worker.
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    // Every test client is 127.0.0.1: one address's failure budget must not lock out the files running beside a
    // test that sends wrong secrets. Key id budgets (per merchant) and the request rate keep their defaults.
    AUTH_FAILURES_PER_ADDRESS: '1000',
  };
}
