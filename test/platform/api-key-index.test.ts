import { issueApiKey, rotateApiKey } from '../../src/auth/accounts';
import { apiKeys, backfillKeyIndex, hasKeys, keysOf, merchantKeys } from '../../src/store/api-keys';
import { ferretdbOnSqlite } from '../support/ferretdb-backend';
import { useStackWithMerchant } from '../support/factories';

/**
 * A merchant's API keys are found through its key index (src/store/api-keys.ts), one `_id` range, never a scan of
 * every merchant's keys: what the dashboard's developers page, its live-mode check and a rotation read.
 */
const shop = useStackWithMerchant({ live: true });
const db = () => shop.stack.db;

it("lists a merchant's keys of one mode, newest first, and nobody else's", async () => {
  const { merchantId } = shop.merchant;
  const second = await issueApiKey(db(), merchantId, 'test');
  const test = await keysOf(db(), merchantId, 'test');
  expect(test).toHaveLength(2);
  expect(test[0]!._id).toBe(second.split('_')[2]);
  expect(test.every((k) => k.merchantId === merchantId && k.mode === 'test' && !('hash' in k))).toBe(true);
  expect(await keysOf(db(), merchantId, 'live')).toHaveLength(1);
  expect(await keysOf(db(), `${merchantId}x`, 'test')).toEqual([]);
  expect(await hasKeys(db(), merchantId, 'live')).toBe(true);
});

it("a rotation sets the grace end on this merchant's current keys of that mode only", async () => {
  const { merchantId } = shop.merchant;
  const { oldKeysExpireAt } = await rotateApiKey(db(), merchantId, 'test', 60_000);
  const test = await keysOf(db(), merchantId, 'test');
  expect(test[0]!.expiresAt).toBeNull();
  expect(test.slice(1).every((k) => k.expiresAt?.getTime() === oldKeysExpireAt.getTime())).toBe(true);
  expect((await keysOf(db(), merchantId, 'live'))[0]!.expiresAt).toBeNull();
});

it('files the keys issued before the index existed, once', async () => {
  const { merchantId } = shop.merchant;
  const before = (await keysOf(db(), merchantId, 'test')).map((k) => k._id);
  await merchantKeys(db()).deleteMany({ _id: { $in: before.map((id) => `test:${merchantId}:${id}`) } });
  await merchantKeys(db()).deleteOne({ _id: 'backfill:v1' });
  expect(await keysOf(db(), merchantId, 'test')).toEqual([]);

  expect(await backfillKeyIndex(db())).toBeGreaterThanOrEqual(before.length);
  expect((await keysOf(db(), merchantId, 'test')).map((k) => k._id)).toEqual(before);
  // The marker makes a later start a single `_id` read.
  expect(await backfillKeyIndex(db())).toBe(0);
  expect(await apiKeys(db()).countDocuments({ _id: { $in: before } })).toBe(before.length);
});

// Our SQLite patches' plan (test/support/ferretdb-backend.ts).
(ferretdbOnSqlite ? it : it.skip)('reads the index by an _id range through the _id index', async () => {
  const { merchantId } = shop.merchant;
  const explained = await db().command({
    explain: {
      find: 'merchant_api_keys',
      filter: { _id: { $gte: `test:${merchantId}:`, $lt: `test:${merchantId};` } },
      sort: { _id: 1 },
    },
  });
  expect(explained).toMatchObject({ filterPushdown: true, sortPushdown: true });
  expect(JSON.stringify(explained.queryPlanner)).toMatch(/USING INDEX/);
});
