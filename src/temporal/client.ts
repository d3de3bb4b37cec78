import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { temporalConnectionOptions } from './connection-options';

export interface Temporal {
  connection: Connection;
  client: Client;
}

export async function connectTemporal(config: Config): Promise<Temporal> {
  const connection = await Connection.connect({ ...temporalConnectionOptions(config), connectTimeout: '5s' });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  return { connection, client };
}

/** A readiness probe answers fast: two seconds, not the client's whole retry policy. */
export async function temporalReachable(temporal: Temporal, namespace: string): Promise<boolean> {
  await temporal.connection.withDeadline(Date.now() + 2_000, () =>
    temporal.connection.workflowService.describeNamespace({ namespace }),
  );
  return true;
}
