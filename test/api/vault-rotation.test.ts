import { createCipheriv, randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { activeWebhookSecrets, createMerchant, rotateWebhookSecret } from '../../src/auth/accounts';
import type { Config } from '../../src/config';
import { KeyRing, keyIdOf, sealedKeyId } from '../../src/keyring';
import { merchants } from '../../src/store/merchants';
import { openCard, vaultCard } from '../../src/store/vault';
import { signatureHeader } from '../../src/webhooks/sign';
import { signatureMatches } from '../support/signature';
import { connectToStack, type StackClients } from '../support/stack-client';
import { settleflowJsonIn } from '../support/cli';

/**
 * Rotating the vault master key under load, as docs/runbook.md ("Rotating the vault key") tells an operator to:
 * every process runs with the new key B and the old key A retired, the real `settleflow vault rotate-key` runs
 * while card data is vaulted and opened and webhooks are signed, nothing fails, every webhook secret ends under
 * B, and once A is gone from the configuration the secrets still open and sign for the merchants' plain secrets.
 *
 * The test stack's MongoDB (FerretDB), in a database of this test's own: the stack's API and worker know only
 * the stack's key, and must not see other tests' merchants resealed under a key they do not have.
 */
const dbName = `settleflow_rotation_${process.pid}`;
const A = randomBytes(32);
const B = randomBytes(32);
const before = new KeyRing(A);
const during = new KeyRing(B, [A]);
const after = new KeyRing(B);

let stack: StackClients;
let db: Db;

beforeAll(async () => {
  stack = await connectToStack();
  db = stack.db.client.db(dbName);
});
afterAll(async () => {
  await db.dropDatabase();
  await stack.close();
});

const withKeys = (vaultKeys: KeyRing): Config => ({ ...stack.config, vaultKeys });

/** `settleflow vault …` against this test's database, with the given key ring, as an operator runs it. */
function settleflow(keys: KeyRing, ...args: string[]): Promise<Record<string, unknown>> {
  return settleflowJsonIn({ ...process.env, MONGODB_DB: dbName, ...keys.toEnv() }, 'vault', ...args);
}

/** A webhook secret exactly as the version before key ids stored it: sealed with the raw master, `v1.…`. */
function legacySealV1(master: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext].map((p) => p.toString('base64url')).join('.');
}

it('rotate-key reseals every webhook secret under the new key while vault and signing traffic runs, and nothing fails', async () => {
  // Under key A: merchants (some mid webhook-secret rotation, two secrets each), one legacy v1 secret, card data.
  const plainSecrets = new Map<string, string[]>();
  for (let i = 0; i < 24; i++) {
    const created = await createMerchant(db, withKeys(before), { name: `Rotation shop ${i}` });
    plainSecrets.set(created.merchantId, [created.webhookSecret]);
    if (i % 4 === 0) {
      const rotated = await rotateWebhookSecret(db, withKeys(before), created.merchantId, 3_600_000);
      plainSecrets.set(created.merchantId, [rotated.webhookSecret, created.webhookSecret]);
    }
  }
  const legacyMerchant = [...plainSecrets.keys()][1]!;
  const legacyDoc = (await merchants(db).findOne({ _id: legacyMerchant }))!;
  const legacyEntry = legacyDoc.webhookSecrets[0]!;
  await merchants(db).updateOne(
    { _id: legacyMerchant },
    {
      $set: {
        'webhookSecrets.0.sealed': legacySealV1(
          A,
          plainSecrets.get(legacyMerchant)![0]!,
          `webhook-secret:${legacyMerchant}:${legacyEntry.id}`,
        ),
      },
    },
  );
  const card = { number: '4111111111111111', cvv: '123', month: 12, year: new Date().getUTCFullYear() + 2 };
  const cardsUnderA = await Promise.all(
    Array.from({ length: 10 }, (_, i) => vaultCard(db, before, `test:mer_x:under-a-${i}`, card, 3_600_000)),
  );

  const status = await settleflow(during, 'status');
  expect(status).toMatchObject({
    currentKeyId: keyIdOf(B),
    retiredKeysInUse: [keyIdOf(A)],
    retiredKeysRemovable: [],
    webhookSecrets: { [keyIdOf(A)]: 29, v1: 1 },
    cardData: { [keyIdOf(A)]: 10 },
    missingKeyIds: [],
  });

  // Traffic of processes configured with B current and A retired: vault a card and open it, open a card vaulted
  // under A, sign a webhook for a merchant and check it the merchant's way, with its plain secrets.
  const failures: string[] = [];
  const done = { cards: 0, webhooks: 0, whileRotating: 0 };
  let rotating = false;
  let stop = false;
  const ids = [...plainSecrets.keys()];
  const cardLoop = async () => {
    for (let i = 0; !stop; i++) {
      try {
        const token = await vaultCard(db, during, `test:mer_x:under-b-${i}-${Math.random()}`, card, 3_600_000);
        const fresh = await openCard(db, during, token);
        const old = await openCard(db, during, cardsUnderA[i % cardsUnderA.length]!);
        if (
          fresh?.number !== card.number ||
          fresh.cvv !== card.cvv ||
          old?.number !== card.number ||
          old.cvv !== card.cvv
        )
          failures.push(`card ${i} did not open as vaulted`);
        done.cards++;
        if (rotating) done.whileRotating++;
      } catch (err) {
        failures.push(`card ${i}: ${String(err)}`);
      }
    }
  };
  const webhookLoop = async (offset: number) => {
    for (let i = offset; !stop; i++) {
      const merchantId = ids[i % ids.length]!;
      try {
        const merchant = (await merchants(db).findOne({ _id: merchantId }))!;
        const body = JSON.stringify({ Code: 0, Result: { Tid: `t-${i}` } });
        const header = signatureHeader(body, activeWebhookSecrets(during, merchant), Math.floor(Date.now() / 1000));
        for (const secret of plainSecrets.get(merchantId)!) {
          if (!signatureMatches(header, body, secret)) failures.push(`webhook ${i} of ${merchantId} does not verify`);
        }
        done.webhooks++;
        if (rotating) done.whileRotating++;
      } catch (err) {
        failures.push(`webhook ${i} of ${merchantId}: ${String(err)}`);
      }
    }
  };
  const traffic = Promise.all([cardLoop(), webhookLoop(0), webhookLoop(7)]);

  // Two operators at once, even: rotate-key is idempotent and each merchant's write is conditional.
  rotating = true;
  const [first, second] = await Promise.all([settleflow(during, 'rotate-key'), settleflow(during, 'rotate-key')]);
  rotating = false;
  // Some traffic after the rotation too, then stop.
  const afterRotation = done.cards + done.webhooks;
  while (done.cards + done.webhooks < afterRotation + 20) await new Promise((resolve) => setTimeout(resolve, 20));
  stop = true;
  await traffic;

  expect(failures).toEqual([]);
  expect(done.whileRotating).toBeGreaterThan(0);
  expect((first.resealed as number) + (second.resealed as number)).toBeGreaterThanOrEqual(30);
  expect(first).toMatchObject({ merchants: 24, failed: [] });
  expect(second).toMatchObject({ merchants: 24, failed: [] });

  // Every webhook secret is under B; card data vaulted under A is still there and still needs A.
  for (const merchant of await merchants(db).find({}).toArray()) {
    for (const secret of merchant.webhookSecrets) expect(sealedKeyId(secret.sealed)).toBe(keyIdOf(B));
  }
  const again = await settleflow(during, 'rotate-key');
  expect(again).toMatchObject({
    resealed: 0,
    webhookSecrets: { [keyIdOf(B)]: 30 },
    cardData: { [keyIdOf(A)]: 10, [keyIdOf(B)]: done.cards },
    retiredKeysInUse: [keyIdOf(A)],
  });
  expect(again.webhookSecrets).not.toHaveProperty(keyIdOf(A));

  // The card data under A expires with its payments (here: deleted, as the sweep does); then A may go.
  await db.collection('vault').deleteMany({ _id: { $in: cardsUnderA as never[] } });
  expect(await settleflow(during, 'status')).toMatchObject({
    retiredKeysInUse: [],
    retiredKeysRemovable: [keyIdOf(A)],
  });

  // A removed from the configuration: every webhook secret still opens and signs for the merchant's plain secret.
  for (const [merchantId, secrets] of plainSecrets) {
    const merchant = (await merchants(db).findOne({ _id: merchantId }))!;
    expect(activeWebhookSecrets(after, merchant)).toEqual(secrets);
    const header = signatureHeader('{"Code":0}', activeWebhookSecrets(after, merchant), Math.floor(Date.now() / 1000));
    for (const secret of secrets) expect(signatureMatches(header, '{"Code":0}', secret)).toBe(true);
  }
  expect(await settleflow(after, 'status')).toMatchObject({
    currentKeyId: keyIdOf(B),
    retiredKeyIds: [],
    missingKeyIds: [],
  });
});

it('status names values sealed under a key that is no longer configured, and exits 1', async () => {
  const C = randomBytes(32);
  const orphan = await createMerchant(db, withKeys(new KeyRing(C)), { name: 'Orphan shop' });
  const failed = await settleflow(after, 'status').then(
    () => undefined,
    (err: { code: number; stdout: string }) => err,
  );
  expect(failed?.code).toBe(1);
  expect(JSON.parse(failed!.stdout)).toMatchObject({ missingKeyIds: [keyIdOf(C)] });
  await merchants(db).deleteOne({ _id: orphan.merchantId });
});
