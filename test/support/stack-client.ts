import { Client, Connection } from '@temporalio/client';
import { MongoClient, type Db } from 'mongodb';
import { type Config, loadConfig } from '../../src/config';

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
  const connection = await Connection.connect({ address: config.temporal.address });
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
