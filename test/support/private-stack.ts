import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { loadConfig, TEMPORAL_CONNECTION_VARIABLES } from '../../src/config';
import { removeStaleRunDirs } from '../../tools/run-dirs';
import { type Stack, type StackOptions, stackProfileFromEnv, startStack } from '../../tools/stack';
import type { StackClients } from './stack-client';
import { testEnv } from './test-env';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';

/**
 * A whole stack (Temporal, FerretDB, worker, API) for one test file, on ports and a data dir of its own: for a test
 * that must see everything a stack wrote (every collection, every log file) and nothing another file wrote. `env`
 * overrides the test settings (e.g. LOG_LEVEL). The stack the global setup started is not used; the profile is the
 * same (SETTLEFLOW_STACK: the dev server, or a cluster of its own). `options`: Jaeger too (docs/tracing.md).
 */
export interface PrivateStack extends StackClients {
  stack: Stack;
}

/**
 * Not under the shared stack's root: a file run alone runs in the jest process itself, whose pid names the shared
 * stack's dir. Emptied at each start, as an earlier file in the same process may have used it.
 */
const PRIVATE_ROOT = path.resolve(__dirname, '..', '..', '.data', 'test-private');

export async function startPrivateStack(
  env: Record<string, string> = {},
  options: Pick<StackOptions, 'jaeger'> = {},
): Promise<PrivateStack> {
  const base: Record<string, string | undefined> = { ...process.env };
  // Set by the global setup for the shared stack: with them, this stack would reuse those servers.
  for (const name of [...TEMPORAL_CONNECTION_VARIABLES, 'MONGODB_URL', 'VAULT_KEY']) delete base[name];
  removeStaleRunDirs(PRIVATE_ROOT);
  const dataDir = path.join(PRIVATE_ROOT, `run-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  const stack = await startStack(loadConfig({ ...base, ...(await testEnv()), DATA_DIR: dataDir, ...env }), {
    log: () => undefined,
    profile: stackProfileFromEnv(),
    ...options,
  });
  // The stack's own: on the cluster profile it carries the client certificate its frontend requires.
  const config = stack.config;
  const mongo = new MongoClient(config.mongo.url, { retryWrites: false });
  let connection: Connection | undefined;
  try {
    await mongo.connect();
    connection = await Connection.connect(temporalConnectionOptions(config));
  } catch (err) {
    await Promise.allSettled([mongo.close(), stack.stop()]);
    throw err;
  }
  return {
    stack,
    config,
    apiUrl: stack.apiUrl,
    db: mongo.db(config.mongo.dbName),
    temporal: new Client({ connection, namespace: config.temporal.namespace }),
    async close() {
      await Promise.allSettled([mongo.close(), connection.close()]);
      await stack.stop();
    },
  };
}
