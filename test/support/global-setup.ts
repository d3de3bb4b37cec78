import { rmSync } from 'node:fs';
import { loadConfig } from '../../src/config';
import { type Stack, startStack } from '../../tools/stack';
import { TEST_ENV } from './test-env';

declare global {
  // Shared with global-teardown, which runs in this same process.
  var settleflowTestStack: Stack | undefined;
}

export default async function globalSetup(): Promise<void> {
  const env = { ...process.env, ...TEST_ENV };
  // A fresh data dir per run: the suite proves behaviour from a clean start, and leftovers never mask a bug.
  if (!process.env.TEMPORAL_ADDRESS && !process.env.MONGODB_URL) rmSync(env.DATA_DIR!, { recursive: true, force: true });
  const config = loadConfig(env);
  const started = Date.now();
  const stack = await startStack(config, { log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(`[test] stack up in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
  globalThis.settleflowTestStack = stack;
  // Test files run in worker processes forked after this point: they read the stack's coordinates from env.
  Object.assign(process.env, TEST_ENV, {
    TEMPORAL_ADDRESS: config.temporal.address,
    MONGODB_URL: config.mongo.url,
    VAULT_KEY: config.vaultKey.toString('base64'),
    SETTLEFLOW_TEST_API_URL: stack.apiUrl,
  });
}
