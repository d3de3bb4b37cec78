import { MongoClient, type Db } from 'mongodb';
import type { Config } from '../config';

export interface Mongo {
  client: MongoClient;
  db: Db;
}

/** One pooled client per process; every module takes the `Db` from here. */
export async function connectMongo(config: Config, options: { appName: string }): Promise<Mongo> {
  const client = new MongoClient(config.mongo.url, {
    appName: options.appName,
    serverSelectionTimeoutMS: 5000,
    // Retryable writes need a replica set session; FerretDB and a standalone MongoDB do not offer them.
    retryWrites: false,
  });
  await client.connect();
  return { client, db: client.db(config.mongo.dbName) };
}

export async function pingMongo(db: Db): Promise<boolean> {
  const answer = await db.command({ ping: 1 });
  return answer.ok === 1;
}
