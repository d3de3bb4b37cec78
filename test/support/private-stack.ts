import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../../src/config';
import { startStack, type Stack } from '../../tools/stack';
import type { StackClients } from './stack-client';
import { testEnv } from './test-env';

/**
 * A whole stack (Temporal dev server, FerretDB, worker, API) for one test file, on ports and a data dir of its
 * own: for a test that must see everything a stack wrote (every collection, every log file) and nothing another
 * file wrote. `env` overrides the test settings (e.g. LOG_LEVEL). The stack the global setup started is not used.
 */
export interface PrivateStack extends StackClients {
  stack: Stack;
}

export async function startPrivateStack(env: Record<string, string> = {}): Promise<PrivateStack> {
  const base: Record<string, string | undefined> = { ...process.env };
  // Set by the global setup for the shared stack: with them, this stack would reuse those servers.
  for (const name of ['TEMPORAL_ADDRESS', 'MONGODB_URL', 'VAULT_KEY']) delete base[name];
  const config = loadConfig({ ...base, ...(await testEnv()), ...env });
  const stack = await startStack(config, { log: () => undefined });
  const mongo = new MongoClient(config.mongo.url, { retryWrites: false });
  let connection: Connection | undefined;
  try {
    await mongo.connect();
    connection = await Connection.connect({ address: config.temporal.address });
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
