import { createPaymentActivities } from '../../activities/payment-activities';
import { createConnectors } from '../../activities/psp';
import { Client, Connection } from '@temporalio/client';
import { MongoClient, type Db } from 'mongodb';
import { type Config, loadConfig } from '../../src/config';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';

/** Real connections to the test stack's servers, for tests that check what the system wrote. */
export interface StackClients {
  config: Config;
  apiUrl: string;
  db: Db;
  temporal: Client;
  close(): Promise<void>;
}

export async function connectToStack(): Promise<StackClients> {
  const config = loadConfig(process.env);
  const mongo = new MongoClient(config.mongo.url, { retryWrites: false });
  await mongo.connect();
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return {
    config,
    apiUrl: process.env.SETTLEFLOW_TEST_API_URL!,
    db: mongo.db(config.mongo.dbName),
    temporal: new Client({ connection, namespace: config.temporal.namespace }),
    async close() {
      await Promise.allSettled([mongo.close(), connection.close()]);
    },
  };
}

/**
 * The shared stack and the worker's own payment activities on its database (real vault, records and sandbox
 * simulator), for tests that call the activities directly: read `real.stack` and `real.activities` in the tests.
 */
export function useRealPaymentActivities(): {
  stack: StackClients;
  activities: ReturnType<typeof createPaymentActivities>;
} {
  const real = {} as { stack: StackClients; activities: ReturnType<typeof createPaymentActivities> };
  beforeAll(async () => {
    real.stack = await connectToStack();
    real.activities = createPaymentActivities({
      db: real.stack.db,
      vaultKeys: real.stack.config.vaultKeys,
      connectors: createConnectors(real.stack.db),
    });
  });
  afterAll(() => real.stack?.close());
  return real;
}
