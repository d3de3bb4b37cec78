import path from 'node:path';

/**
 * Where the test stack lives: its own ports and data dir, so `npm test` never touches a running `npm start`.
 * TEMPORAL_ADDRESS / MONGODB_URL, when set, make the suite reuse those servers instead of starting its own.
 */
export const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  PORT: process.env.TEST_API_PORT ?? '3100',
  TEMPORAL_PORT: process.env.TEST_TEMPORAL_PORT ?? '7300',
  TEMPORAL_UI_PORT: process.env.TEST_TEMPORAL_UI_PORT ?? '8300',
  FERRETDB_PORT: process.env.TEST_FERRETDB_PORT ?? '27100',
  DATA_DIR: path.resolve(__dirname, '..', '..', '.data', 'test'),
  MONGODB_DB: 'settleflow_test',
  LOG_LEVEL: 'info',
  // Short lifecycle durations, so timeouts and retries are exercised in seconds (never by faking time).
  THREEDS_TIMEOUT: '20s',
  WEBHOOK_INITIAL_BACKOFF: '200',
  WEBHOOK_MAX_RETRY_SANDBOX: '2m',
  API_WAIT_BUDGET: '10s',
  KEY_CACHE_TTL: '2s',
};
