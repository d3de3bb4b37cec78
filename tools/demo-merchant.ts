import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from 'mongodb';
import { type CreatedMerchant, createMerchant } from '../src/auth/accounts';
import type { Config } from '../src/config';
import { findMerchant } from '../src/store/merchants';

/**
 * The sandbox merchant `npm start` seeds on first run. Keys exist only as hashes in the database, so the demo
 * credentials are also kept in a 0600 file under the data dir, to be printed again on every start. Sandbox only:
 * the demo merchant gets no live key.
 */
export async function ensureDemoMerchant(db: Db, config: Config): Promise<CreatedMerchant & { created: boolean }> {
  const file = path.join(config.dataDir, 'secrets', 'demo-merchant.json');
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as CreatedMerchant;
    if (await findMerchant(db, saved.merchantId)) return { ...saved, created: false };
  }
  const created = await createMerchant(db, config, { name: 'Demo Shop' });
  writeFileSync(file, JSON.stringify(created, null, 2), { mode: 0o600 });
  return { ...created, created: true };
}
