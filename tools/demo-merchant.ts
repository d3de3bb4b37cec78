import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Db } from 'mongodb';
import { type CreatedMerchant, createMerchant } from '../src/auth/accounts';
import { createDashboardUser, setPassword } from '../src/auth/dashboard-users';
import type { Config } from '../src/config';
import { dashboardUsers, findDashboardUser } from '../src/store/dashboard-users';
import { findMerchant } from '../src/store/merchants';

export const DEMO_DASHBOARD_EMAIL = 'demo@settleflow.local';

export interface DemoMerchant extends CreatedMerchant {
  dashboardEmail: string;
  dashboardPassword: string;
}

/**
 * The sandbox merchant `npm start` seeds on first run, with a dashboard admin user. Keys and passwords exist only as
 * hashes in the database, so the demo credentials are also kept in a 0600 file under the data dir, to be printed
 * again on every start. Sandbox only: the demo merchant gets no live key.
 */
export async function ensureDemoMerchant(db: Db, config: Config): Promise<DemoMerchant & { created: boolean }> {
  const file = path.join(config.dataDir, 'secrets', 'demo-merchant.json');
  let saved: Partial<DemoMerchant> & CreatedMerchant = existsSync(file)
    ? (JSON.parse(readFileSync(file, 'utf8')) as DemoMerchant)
    : ({} as DemoMerchant);
  let created = false;
  if (!saved.merchantId || !(await findMerchant(db, saved.merchantId))) {
    saved = await createMerchant(db, config, { name: 'Demo Shop' });
    created = true;
  }
  // A data dir seeded before the dashboard existed gets its demo user now; a user whose password is not the one
  // kept in the file (or that was removed) is given a fresh one, so the banner's sign-in always works.
  const user = await findDashboardUser(db, DEMO_DASHBOARD_EMAIL);
  const ours = user !== null && user.merchantId === saved.merchantId;
  let password = saved.dashboardPassword;
  if (!ours) {
    // Left by an earlier demo merchant whose data was reset.
    if (user) await dashboardUsers(db).deleteOne({ _id: user._id });
    await createDashboardUser(db, { merchantId: saved.merchantId, email: DEMO_DASHBOARD_EMAIL, role: 'admin' });
  }
  if (!ours || !password || user.disabledAt) {
    await dashboardUsers(db).updateOne({ _id: DEMO_DASHBOARD_EMAIL }, { $set: { disabledAt: null } });
    password = randomBytes(12).toString('base64url');
    await setPassword(db, DEMO_DASHBOARD_EMAIL, password);
  }
  const demo: DemoMerchant = {
    merchantId: saved.merchantId,
    testKey: saved.testKey,
    liveKey: saved.liveKey,
    webhookSecret: saved.webhookSecret,
    dashboardEmail: DEMO_DASHBOARD_EMAIL,
    dashboardPassword: password,
  };
  writeFileSync(file, JSON.stringify(demo, null, 2), { mode: 0o600 });
  return { ...demo, created };
}
