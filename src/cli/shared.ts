import { InvalidArgumentError, Option } from 'commander';
import ms from 'ms';
import { type Config, loadConfig } from '../config';
import { REQUIRABLE_FIELDS } from '../epro/fields';
import { connectMongo, type Mongo } from '../store/mongo';
import { connectTemporal, type Temporal } from '../temporal/client';

/** What every `settleflow` command shares: output, connections and argument parsers. */
export function print(json: boolean, value: Record<string, unknown>, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

export async function withMongo<T>(run: (mongo: Mongo, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const mongo = await connectMongo(config, { appName: 'settleflow-cli' });
  try {
    return await run(mongo, config);
  } finally {
    await mongo.client.close();
  }
}

export const positiveInteger = (value: string) => {
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('a positive integer in minor units');
  return Number(value);
};
export const duration = (value: string) => {
  const parsed = /^[0-9]+$/.test(value) ? Number(value) : (ms(value as ms.StringValue) as number | undefined);
  if (parsed === undefined || !(parsed >= 0)) throw new InvalidArgumentError('a duration like 24h or 15m');
  return parsed;
};
export const field = (value: string, previous: string[] = []) => {
  const match = REQUIRABLE_FIELDS.find((name) => name.toLowerCase() === value.toLowerCase());
  if (!match) throw new InvalidArgumentError(`one of ${REQUIRABLE_FIELDS.join(', ')}`);
  return [...previous, match];
};
export const modeOption = () =>
  new Option('--mode <mode>', 'which key: test (sandbox) or live').choices(['test', 'live']).makeOptionMandatory();

export async function withTemporal<T>(run: (temporal: Temporal, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const temporal = await connectTemporal(config);
  try {
    return await run(temporal, config);
  } finally {
    await temporal.connection.close();
  }
}
