import { loadConfig } from '../../src/config';
import { type Stack, startStack } from '../../tools/stack';
import { testEnv } from './test-env';

declare global {
  // Shared with global-teardown, which runs in this same process.
  var settleflowTestStack: Stack | undefined;
}

export default async function globalSetup(): Promise<void> {
  const runEnv = await testEnv();
  const config = loadConfig({ ...process.env, ...runEnv });
  const started = Date.now();
  const stack = await startStack(config, { log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(
    `[test] stack up in ${((Date.now() - started) / 1000).toFixed(1)}s, data and logs in ${config.dataDir}\n`,
  );
  globalThis.settleflowTestStack = stack;
  // Test files run in worker processes forked after this point: they read the stack's coordinates from env.
  Object.assign(process.env, runEnv, {
    TEMPORAL_ADDRESS: config.temporal.address,
    MONGODB_URL: config.mongo.url,
    ...config.vaultKeys.toEnv(),
    SETTLEFLOW_TEST_API_URL: stack.apiUrl,
  });
}
