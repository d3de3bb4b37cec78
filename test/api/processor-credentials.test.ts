import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from 'mongodb';
import { type CreatedMerchant, createMerchant } from '../../src/auth/accounts';
import {
  createProcessorCredentialCache,
  processorCredentials,
  processorWebhookSecrets,
} from '../../src/auth/processor-credentials';
import { randomBase62 } from '../../src/crypto';
import { KeyRing, keyIdOf, sealedKeyId } from '../../src/keyring';
import { merchants } from '../../src/store/merchants';
import { processorCredentialsCollection, processorCredentialsId } from '../../src/store/processor-credentials';
import { newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { type PaymentInput, paymentWorkflowId } from '../../workflows/vocabulary';
import { settleflowRun } from '../support/cli';

/**
 * `settleflow merchant connect` as an operator runs it (docs/connectors.md, "Connecting a processor account"): the
 * built command against the test stack's FerretDB, credentials on stdin or in a file. They are stored sealed and
 * never printed, a key of the wrong mode is refused, running it again rotates them, `vault rotate-key` reseals
 * them, the readers the worker and the processor webhook route use serve them (cached for a TTL), and a sandbox
 * merchant can move to the processor's test mode and back to the simulator.
 */
jest.setTimeout(90_000);

let stack: StackClients;
let tmp: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every output of the command in this file: checked at the end for any secret. */
const outputs: string[] = [];
/** Every secret handed to the command in this file. */
const secrets: string[] = [];

/** The built command, with `input` on its stdin (a pipe, as in `settleflow … < file` or `… | settleflow …`). */
async function settleflow(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  const run = await settleflowRun(args, options);
  outputs.push(run.stdout, run.stderr);
  return { ...run, code: run.code ?? -1 };
}

function json<T = Record<string, unknown>>(run: Run): T {
  if (run.code !== 0) throw new Error(`settleflow exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Stripe-shaped credentials, random for each call; remembered so that no output may contain them. */
function stripeKey(mode: 'test' | 'live', kind: 'sk' | 'rk' = 'sk'): string {
  const key = `${kind}_${mode}_${randomBase62(40)}`;
  secrets.push(key);
  return key;
}
function webhookSecret(): string {
  const secret = `whsec_${randomBase62(32)}`;
  secrets.push(secret);
  return secret;
}

const connectArgs = (merchantId: string, mode: 'test' | 'live', ...more: string[]) => [
  'merchant',
  'connect',
  '--merchant',
  merchantId,
  '--connector',
  'stripe',
  '--mode',
  mode,
  '--json',
  ...more,
];

interface ConnectionJson {
  merchantId: string;
  mode: string;
  connector: string;
  keyHint: string;
  webhookSecretHint: string;
  connectedAt: string;
  rotatedAt: string | null;
  previousWebhookSecrets: { hint: string; expiresAt: string }[];
}

/** The raw stored document: no secret in it, nor anything shaped like one. */
async function expectSealedAtRest(db: Db, merchantId: string, mode: 'test' | 'live', plain: string[]) {
  const raw = await db
    .collection('processor_credentials')
    .findOne({ _id: processorCredentialsId(merchantId, mode, 'stripe') as never });
  expect(raw).not.toBeNull();
  const text = JSON.stringify(raw);
  for (const marker of ['sk_live_', 'sk_test_', 'rk_live_', 'rk_test_', 'whsec_']) expect(text).not.toContain(marker);
  for (const secret of plain) expect(text).not.toContain(secret.slice(8, 30));
  return raw!;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await connectToStack();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-connect-'));
});
afterAll(async () => {
  rmSync(tmp, { recursive: true, force: true });
  await stack.close();
});

describe('connecting a live Stripe account', () => {
  let merchant: CreatedMerchant;
  const key = stripeKey('live');
  const whsec = webhookSecret();

  beforeAll(async () => {
    merchant = await newMerchant(stack, { live: true });
  });

  it('takes KEY=value lines on stdin, prints hints only, seals both secrets and routes live payments to stripe', async () => {
    const connected = json<ConnectionJson>(
      await settleflow(connectArgs(merchant.merchantId, 'live'), {
        input: `# from the Stripe Dashboard\nSTRIPE_SECRET_KEY=${key}\nSTRIPE_WEBHOOK_SECRET=${whsec}\n`,
      }),
    );
    expect(connected).toMatchObject({
      merchantId: merchant.merchantId,
      mode: 'live',
      connector: 'stripe',
      keyHint: `sk_live_…${key.slice(-4)}`,
      webhookSecretHint: `whsec_…${whsec.slice(-4)}`,
      rotatedAt: null,
      previousWebhookSecrets: [],
    });
    expect(Date.parse(connected.connectedAt)).toBeGreaterThan(Date.now() - 60_000);

    const doc = (await merchants(stack.db).findOne({ _id: merchant.merchantId }))!;
    expect(doc.liveConnector).toBe('stripe');
    expect(doc.sandboxConnector).toBeUndefined();
    // Nothing of the credentials in the merchant document, which every request reads.
    expect(JSON.stringify(doc)).not.toContain(key.slice(8));

    const raw = await expectSealedAtRest(stack.db, merchant.merchantId, 'live', [key, whsec]);
    expect(sealedKeyId(raw.secretKey as string)).toBe(stack.config.vaultKeys.currentKeyId);

    const account = { merchantId: merchant.merchantId, mode: 'live' as const };
    expect(await processorCredentials(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual({
      secretKey: key,
      webhookSecret: whsec,
    });
    expect(await processorWebhookSecrets(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual([whsec]);
    // Another mode, another connector, another merchant: nothing.
    expect(
      await processorCredentials(stack.db, stack.config.vaultKeys, { ...account, mode: 'test' }, 'stripe'),
    ).toBeNull();
    expect(await processorCredentials(stack.db, stack.config.vaultKeys, account, 'adyen')).toBeNull();
    expect(
      await processorWebhookSecrets(stack.db, stack.config.vaultKeys, { ...account, merchantId: 'mer_x' }, 'stripe'),
    ).toEqual([]);
  });

  it('refuses a test key for live mode, and anything not shaped like Stripe credentials, storing nothing', async () => {
    const other = await newMerchant(stack, { live: true });
    const testKey = stripeKey('test');
    const refusals: [string, RegExp][] = [
      [`${testKey}\n${webhookSecret()}\n`, /a test key \(sk_test_…\) cannot connect live mode/],
      [`pk_live_${randomBase62(30)}\n${webhookSecret()}\n`, /line 1 is a publishable key/],
      [`${stripeKey('live')}\nnot-a-secret-${randomBase62(20)}\n`, /line 2 is neither a Stripe secret key/],
      [
        `STRIPE_SECRET_KEY=${stripeKey('live')}\nSTRIPE_WEBHOOK_SECRET=whsec_short\n`,
        /does not look like a Stripe webhook signing secret/,
      ],
      // A first connection needs both.
      [`${stripeKey('live')}\n`, /give both the secret key and the webhook signing secret/],
      ['', /no credentials given/],
    ];
    for (const [input, message] of refusals) {
      const run = await settleflow(connectArgs(other.merchantId, 'live'), { input });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(message);
    }
    expect(
      await processorCredentialsCollection(stack.db).findOne({
        _id: processorCredentialsId(other.merchantId, 'live', 'stripe'),
      }),
    ).toBeNull();
    expect((await merchants(stack.db).findOne({ _id: other.merchantId }))!.liveConnector).toBeNull();

    const unknown = await settleflow(connectArgs('mer_doesnotexist', 'live'), {
      input: `${stripeKey('live')}\n${webhookSecret()}\n`,
    });
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain('no merchant mer_doesnotexist');
  });

  it('rotates when run again: the new key at once, the previous webhook secret for the grace period', async () => {
    const account = { merchantId: merchant.merchantId, mode: 'live' as const };
    const before = (await processorCredentialsCollection(stack.db).findOne({
      _id: processorCredentialsId(merchant.merchantId, 'live', 'stripe'),
    }))!;
    const newKey = stripeKey('live', 'rk');
    const newWhsec = webhookSecret();
    const file = path.join(tmp, 'stripe-live.env');
    writeFileSync(file, `${newWhsec}\n${newKey}\n`, { mode: 0o600 });
    const rotated = json<ConnectionJson>(
      await settleflow([...connectArgs(merchant.merchantId, 'live'), '--from-file', file, '--webhook-grace', '1h']),
    );
    expect(rotated).toMatchObject({
      keyHint: `rk_live_…${newKey.slice(-4)}`,
      webhookSecretHint: `whsec_…${newWhsec.slice(-4)}`,
      connectedAt: before.connectedAt.toISOString(),
      previousWebhookSecrets: [{ hint: `whsec_…${whsec.slice(-4)}` }],
    });
    expect(Date.parse(rotated.rotatedAt!)).toBeGreaterThan(before.connectedAt.getTime());
    const graceEnd = Date.parse(rotated.previousWebhookSecrets[0]!.expiresAt) - Date.parse(rotated.rotatedAt!);
    expect(graceEnd).toBe(3_600_000);

    expect(await processorCredentials(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual({
      secretKey: newKey,
      webhookSecret: newWhsec,
    });
    // Events Stripe signed with the previous secret still verify during the roll.
    expect(await processorWebhookSecrets(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual([
      newWhsec,
      whsec,
    ]);
    await expectSealedAtRest(stack.db, merchant.merchantId, 'live', [key, whsec, newKey, newWhsec]);

    // Only the key this time: the webhook secrets stay as they are.
    const thirdKey = stripeKey('live');
    json(await settleflow(connectArgs(merchant.merchantId, 'live'), { input: `STRIPE_SECRET_KEY='${thirdKey}'\n` }));
    expect(await processorCredentials(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual({
      secretKey: thirdKey,
      webhookSecret: newWhsec,
    });
    expect(await processorWebhookSecrets(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual([
      newWhsec,
      whsec,
    ]);

    // After a leak: a new webhook secret with no grace ends every previous one at once.
    const fourthWhsec = webhookSecret();
    const leaked = json<ConnectionJson>(
      await settleflow([...connectArgs(merchant.merchantId, 'live'), '--webhook-grace', '0'], {
        input: `${fourthWhsec}\n`,
      }),
    );
    expect(leaked.previousWebhookSecrets).toEqual([]);
    expect(await processorWebhookSecrets(stack.db, stack.config.vaultKeys, account, 'stripe')).toEqual([fourthWhsec]);
  });

  it('is served by the credential cache, which picks up a rotation once its TTL has passed', async () => {
    const account = { merchantId: merchant.merchantId, mode: 'live' as const };
    const cache = createProcessorCredentialCache(stack.db, stack.config, { ttlMs: 1500 });
    const secretKeyOf = cache.secretKeys('stripe');
    const first = (await secretKeyOf(account)).secretKey;
    const rotatedKey = stripeKey('live');
    const started = Date.now();
    json(await settleflow(connectArgs(merchant.merchantId, 'live'), { input: `${rotatedKey}\n` }));
    if (Date.now() - started < 1400) expect((await secretKeyOf(account)).secretKey).toBe(first);
    await pause(Math.max(0, started + 1600 - Date.now()));
    expect((await secretKeyOf(account)).secretKey).toBe(rotatedKey);
    await expect(cache.require({ merchantId: merchant.merchantId, mode: 'test' }, 'stripe')).rejects.toThrow(
      `merchant ${merchant.merchantId} has no stripe credentials for test mode`,
    );
  });

  it('`merchant processors` shows where payments go and the hints, never a secret', async () => {
    const shown = json<{ test: string; live: string; credentials: ConnectionJson[] }>(
      await settleflow(['merchant', 'processors', merchant.merchantId, '--json']),
    );
    expect(shown).toMatchObject({
      test: 'simulator',
      live: 'stripe',
      credentials: [{ mode: 'live', connector: 'stripe' }],
    });
    const table = await settleflow(['merchant', 'processors', merchant.merchantId]);
    expect(table.stdout).toContain('live payments     stripe');
    expect(table.stdout).toContain('stripe live (in use)');
  });

  it('disconnecting stops live payments (code 7); --forget deletes the credentials', async () => {
    const run = json(
      await settleflow(['merchant', 'disconnect', '--merchant', merchant.merchantId, '--mode', 'live', '--json']),
    );
    expect(run).toEqual({ merchantId: merchant.merchantId, mode: 'live', forgotten: 0 });
    expect((await merchants(stack.db).findOne({ _id: merchant.merchantId }))!.liveConnector).toBeNull();
    const answer = await post(stack.apiUrl, 'payment', merchant.liveKey!, paymentBody());
    expect(answer.body).toMatchObject({ Code: 7 });
    // Kept for the payments made through the account: refunds and events still need them.
    const account = { merchantId: merchant.merchantId, mode: 'live' as const };
    expect(await processorCredentials(stack.db, stack.config.vaultKeys, account, 'stripe')).not.toBeNull();

    json(
      await settleflow([
        'merchant',
        'disconnect',
        '--merchant',
        merchant.merchantId,
        '--mode',
        'live',
        '--forget',
        '--json',
      ]),
    );
    expect(await processorCredentials(stack.db, stack.config.vaultKeys, account, 'stripe')).toBeNull();
  });

  it('`merchant create` refuses --live-connector stripe: the credentials come first, with merchant connect', async () => {
    const run = await settleflow(['merchant', 'create', '--name', 'Shop', '--live-connector', 'stripe']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('merchant connect --merchant <id> --connector stripe --mode live');
  });
});

describe("a sandbox merchant on Stripe's test mode", () => {
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    merchant = await newMerchant(stack);
  });

  /** The connector the payment's workflow was started with. */
  async function connectorOf(tid: string): Promise<string> {
    const handle = stack.temporal.workflow.getHandle(paymentWorkflowId('test', merchant.merchantId, tid));
    const history = await handle.fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const input = JSON.parse(Buffer.from(started.input!.payloads![0]!.data!).toString('utf8')) as PaymentInput;
    return input.connector;
  }

  it('moves to stripe with connect --mode test (a file of bare values), and back to the simulator', async () => {
    const key = stripeKey('test');
    const whsec = webhookSecret();
    const file = path.join(tmp, 'stripe-test.txt');
    writeFileSync(file, `${key}\r\n${whsec}\r\n`);
    chmodSync(file, 0o644);
    const run = await settleflow([...connectArgs(merchant.merchantId, 'test'), '--from-file', file]);
    expect(json<ConnectionJson>(run)).toMatchObject({ mode: 'test', keyHint: `sk_test_…${key.slice(-4)}` });
    // A file others can read is used, with a warning.
    expect(run.stderr).toContain('can be read by other users');
    await expectSealedAtRest(stack.db, merchant.merchantId, 'test', [key, whsec]);
    expect((await merchants(stack.db).findOne({ _id: merchant.merchantId }))!).toMatchObject({
      sandboxConnector: 'stripe',
      liveConnector: null,
    });

    // A sandbox payment now starts on the stripe connector (what the worker then does with it is its own business).
    const onStripe = paymentBody();
    await post(stack.apiUrl, 'payment', merchant.testKey, onStripe);
    expect(await connectorOf(onStripe.Tid!)).toBe('stripe');

    const back = json(
      await settleflow([
        'merchant',
        'connect',
        '--merchant',
        merchant.merchantId,
        '--connector',
        'simulator',
        '--mode',
        'test',
        '--json',
      ]),
    );
    expect(back).toEqual({ merchantId: merchant.merchantId, mode: 'test', connector: 'simulator' });
    expect((await merchants(stack.db).findOne({ _id: merchant.merchantId }))!.sandboxConnector).toBeUndefined();
    // The credentials stay for the payment made through stripe.
    expect(
      await processorCredentials(
        stack.db,
        stack.config.vaultKeys,
        { merchantId: merchant.merchantId, mode: 'test' },
        'stripe',
      ),
    ).toMatchObject({ secretKey: key });

    // The API holds the account for up to KEY_CACHE_TTL: then sandbox payments are the simulator's again.
    await pause(stack.config.keyCacheTtlMs + 200);
    const onSimulator = paymentBody();
    const answer = await post(stack.apiUrl, 'payment', merchant.testKey, onSimulator);
    expect(answer.body.Result).toMatchObject({ Status: 'captured' });
    expect(await connectorOf(onSimulator.Tid!)).toBe('simulator');
  });
});

describe('vault rotate-key', () => {
  // A database of this test's own, as in vault-rotation.test.ts: the stack's processes know only the stack's key.
  const dbName = `settleflow_processor_creds_${process.pid}`;
  const A = randomBytes(32);
  const B = randomBytes(32);
  let db: Db;

  beforeAll(() => {
    db = stack.db.client.db(dbName);
  });
  afterAll(async () => {
    await db.dropDatabase();
  });

  const withKeys = (keys: KeyRing) => ({ env: { MONGODB_DB: dbName, ...keys.toEnv() } });

  it('reseals every processor secret under the new key; they open once the old key is gone', async () => {
    const before = new KeyRing(A);
    const during = new KeyRing(B, [A]);
    const after = new KeyRing(B);
    const plain = new Map<string, { secretKey: string; webhookSecrets: string[] }>();
    for (let i = 0; i < 3; i++) {
      const created = await createMerchant(db, { ...stack.config, vaultKeys: before }, { name: `Rotation ${i}` });
      const [key, whsec] = [stripeKey('live'), webhookSecret()];
      json(
        await settleflow(connectArgs(created.merchantId, 'live'), { input: `${key}\n${whsec}\n`, ...withKeys(before) }),
      );
      plain.set(created.merchantId, { secretKey: key, webhookSecrets: [whsec] });
      if (i === 0) {
        // Mid-roll: two webhook secrets that verify.
        const next = webhookSecret();
        json(await settleflow(connectArgs(created.merchantId, 'live'), { input: `${next}\n`, ...withKeys(before) }));
        plain.set(created.merchantId, { secretKey: key, webhookSecrets: [next, whsec] });
      }
    }

    const status = json(await settleflow(['vault', 'status', '--json'], withKeys(during)));
    expect(status).toMatchObject({ processorCredentials: { [keyIdOf(A)]: 7 }, retiredKeysInUse: [keyIdOf(A)] });

    const rotated = json(await settleflow(['vault', 'rotate-key', '--json'], withKeys(during)));
    expect(rotated).toMatchObject({
      processorCredentialsResealed: 7,
      processorCredentialsFailed: [],
      processorCredentials: { [keyIdOf(B)]: 7 },
    });
    expect(rotated.processorCredentials).not.toHaveProperty(keyIdOf(A));
    const again = json(await settleflow(['vault', 'rotate-key', '--json'], withKeys(during)));
    expect(again).toMatchObject({ processorCredentialsResealed: 0 });

    for (const [merchantId, secrets] of plain) {
      const account = { merchantId, mode: 'live' as const };
      const raw = await expectSealedAtRest(db, merchantId, 'live', [secrets.secretKey, ...secrets.webhookSecrets]);
      expect(sealedKeyId(raw.secretKey as string)).toBe(keyIdOf(B));
      expect(await processorCredentials(db, after, account, 'stripe')).toEqual({
        secretKey: secrets.secretKey,
        webhookSecret: secrets.webhookSecrets[0],
      });
      expect(await processorWebhookSecrets(db, after, account, 'stripe')).toEqual(secrets.webhookSecrets);
    }
  });
});

it('printed no secret handed to it, in any run of this file', () => {
  expect(outputs.length).toBeGreaterThan(30);
  const printed = outputs.join('\n');
  for (const secret of secrets) {
    expect(printed).not.toContain(secret);
    expect(printed).not.toContain(secret.slice(-20));
  }
});
