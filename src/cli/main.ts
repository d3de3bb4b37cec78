#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { Command, InvalidArgumentError, Option } from 'commander';
import ms from 'ms';
import { KNOWN_CONNECTORS } from '../../activities/psp';
import { createMerchant, revokeApiKey, rotateApiKey, rotateWebhookSecret, setMerchantStatus } from '../auth/accounts';
import type { Mode } from '../auth/key-format';
import { type Config, ConfigError, loadConfig } from '../config';
import { REQUIRABLE_FIELDS } from '../epro/fields';
import { connectMongo, type Mongo } from '../store/mongo';
import { connectTemporal } from '../temporal/client';
import { ensureNamespace, ensureSearchAttributes } from '../temporal/setup';
import type { selfCheckWorkflow } from '../../workflows/self-check';

/**
 * `settleflow`, the operator's command. It talks to the same MongoDB and Temporal as the API (same config,
 * same environment variables), and prints JSON with `--json` for scripts.
 */

function print(json: boolean, value: Record<string, unknown>, human: string): void {
  console.log(json ? JSON.stringify(value) : human);
}

async function withMongo<T>(run: (mongo: Mongo, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const mongo = await connectMongo(config, { appName: 'settleflow-cli' });
  try {
    return await run(mongo, config);
  } finally {
    await mongo.client.close();
  }
}

const positiveInteger = (value: string) => {
  if (!/^[0-9]+$/.test(value) || Number(value) <= 0) throw new InvalidArgumentError('a positive integer in minor units');
  return Number(value);
};
const duration = (value: string) => {
  const parsed = /^[0-9]+$/.test(value) ? Number(value) : (ms(value as ms.StringValue) as number | undefined);
  if (parsed === undefined || !(parsed >= 0)) throw new InvalidArgumentError('a duration like 24h or 15m');
  return parsed;
};
const field = (value: string, previous: string[] = []) => {
  const match = REQUIRABLE_FIELDS.find((name) => name.toLowerCase() === value.toLowerCase());
  if (!match) throw new InvalidArgumentError(`one of ${REQUIRABLE_FIELDS.join(', ')}`);
  return [...previous, match];
};
const modeOption = () => new Option('--mode <mode>', 'which key: test (sandbox) or live').choices(['test', 'live']).makeOptionMandatory();

export function buildProgram(): Command {
  const program = new Command('settleflow').description('SettleFlow admin command').showHelpAfterError();

  const merchant = program.command('merchant').description('merchant accounts');
  merchant
    .command('create')
    .description('create a merchant with a sandbox key (and a live key with --live) and a webhook secret')
    .requiredOption('--name <name>', 'merchant name')
    .option('--currency <code>', 'settlement currency (ISO 4217)', 'EUR')
    .option('--max-amount <minor>', 'per-transaction limit in minor units (code 300 above it)', positiveInteger)
    .option('--no-3ds', 'refuse 3DS=yes on this account (code 8)')
    .option('--require <field>', 'a field every payment must carry (repeatable; code 22 when absent)', field)
    .option('--live', 'issue a live key too')
    .addOption(new Option('--live-connector <name>', 'processor connector for live payments').choices([...KNOWN_CONNECTORS]))
    .option('--3ds-timeout <duration>', 'how long a 3DS challenge may take', duration)
    .option('--refund-window <duration>', 'how long after capture a refund is allowed', duration)
    .option('--json', 'machine-readable output')
    .action(async (opts: {
      name: string; currency: string; maxAmount?: number; '3ds': boolean; require?: string[]; live?: boolean;
      liveConnector?: string; '3dsTimeout'?: number; refundWindow?: number; json?: boolean;
    }) => {
      if (!/^[A-Za-z]{3}$/.test(opts.currency)) throw new InvalidArgumentError('--currency must be an ISO 4217 code');
      const created = await withMongo(({ db }, config) =>
        createMerchant(db, config, {
          name: opts.name,
          currency: opts.currency,
          maxAmount: opts.maxAmount ?? null,
          threeDSAllowed: opts['3ds'],
          requiredFields: opts.require ?? [],
          live: opts.live ?? false,
          liveConnector: opts.liveConnector ?? null,
          threeDSTimeoutMs: opts['3dsTimeout'],
          refundWindowMs: opts.refundWindow,
        }),
      );
      print(!!opts.json, { ...created }, [
        `merchant       ${created.merchantId}`,
        `sandbox key    ${created.testKey}`,
        `live key       ${created.liveKey ?? '(none: pass --live)'}`,
        `webhook secret ${created.webhookSecret}`,
        'Keys and the secret are shown once: store them now.',
      ].join('\n'));
    });

  for (const [name, status] of [['disable', 'disabled'], ['enable', 'active']] as const) {
    merchant
      .command(`${name} <merchantId>`)
      .description(`${name} a merchant account (disabled accounts get code 7)`)
      .option('--json', 'machine-readable output')
      .action(async (merchantId: string, opts: { json?: boolean }) => {
        const found = await withMongo(({ db }) => setMerchantStatus(db, merchantId, status));
        if (!found) throw new Error(`no merchant ${merchantId}`);
        print(!!opts.json, { merchantId, status }, `${merchantId} is now ${status}`);
      });
  }

  const key = program.command('key').description('API keys');
  key
    .command('rotate')
    .description('issue a new key; the current ones keep working for the grace period')
    .requiredOption('--merchant <merchantId>', 'merchant id')
    .addOption(modeOption())
    .option('--grace <duration>', 'how long the replaced keys keep working (default KEY_ROTATION_GRACE, 24h)', duration)
    .option('--json', 'machine-readable output')
    .action(async (opts: { merchant: string; mode: Mode; grace?: number; json?: boolean }) => {
      const rotated = await withMongo(({ db }, config) => rotateApiKey(db, opts.merchant, opts.mode, opts.grace ?? config.keyRotationGraceMs));
      print(!!opts.json, { merchantId: opts.merchant, mode: opts.mode, key: rotated.key, oldKeysExpireAt: rotated.oldKeysExpireAt.toISOString() },
        `new ${opts.mode} key  ${rotated.key}\nprevious keys stop working at ${rotated.oldKeysExpireAt.toISOString()}`);
    });
  key
    .command('revoke <keyIdOrKey>')
    .description('revoke a key now (API processes stop accepting it within 60 s)')
    .option('--json', 'machine-readable output')
    .action(async (keyIdOrKey: string, opts: { json?: boolean }) => {
      // Accept the key id or a whole key: an operator may hold either.
      const keyId = /^sk_(test|live)_([0-9A-Za-z]{12})_/.exec(keyIdOrKey)?.[2] ?? keyIdOrKey;
      const revoked = await withMongo(({ db }) => revokeApiKey(db, keyId));
      if (!revoked) throw new Error(`no active key ${keyId}`);
      print(!!opts.json, { keyId, revoked: true }, `key ${keyId} revoked`);
    });

  program
    .command('webhook-secret')
    .description('webhook signing secrets')
    .command('rotate')
    .description('add a new secret; during the grace period webhooks carry one signature per active secret')
    .requiredOption('--merchant <merchantId>', 'merchant id')
    .option('--grace <duration>', 'how long the previous secrets keep signing (default WEBHOOK_SECRET_GRACE, 24h)', duration)
    .option('--json', 'machine-readable output')
    .action(async (opts: { merchant: string; grace?: number; json?: boolean }) => {
      const rotated = await withMongo(({ db }, config) => rotateWebhookSecret(db, config, opts.merchant, opts.grace ?? config.webhookSecretGraceMs));
      print(!!opts.json, { merchantId: opts.merchant, webhookSecret: rotated.webhookSecret, oldSecretsExpireAt: rotated.oldSecretsExpireAt.toISOString() },
        `new webhook secret  ${rotated.webhookSecret}\nprevious secrets stop signing at ${rotated.oldSecretsExpireAt.toISOString()}`);
    });

  program
    .command('setup')
    .description('create the Temporal namespace and register the search attributes (idempotent)')
    .action(async () => {
      const config = loadConfig();
      const temporal = await connectTemporal(config);
      try {
        await ensureNamespace(temporal.connection, config.temporal.namespace);
        const added = await ensureSearchAttributes(temporal.connection, config.temporal.namespace);
        console.log(`namespace ${config.temporal.namespace} ready; search attributes added: ${added.join(', ') || 'none (all present)'}`);
      } finally {
        await temporal.connection.close();
      }
    });

  program
    .command('doctor')
    .description('prove the chain end to end: Temporal → worker → activity → MongoDB')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }) => {
      const config = loadConfig();
      const temporal = await connectTemporal(config);
      try {
        const checkId = `doctor-${randomUUID()}`;
        const started = Date.now();
        const result = await temporal.client.workflow.execute<typeof selfCheckWorkflow>('selfCheckWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId: `self-check-${checkId}`,
          args: [{ checkId }],
          workflowExecutionTimeout: '30s',
        });
        print(!!opts.json, { ok: true, ...result, ms: Date.now() - started }, `ok: worker ${result.worker} wrote ${checkId} in ${Date.now() - started} ms`);
      } finally {
        await temporal.connection.close();
      }
    });

  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(err instanceof ConfigError ? err.message : `settleflow: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
}
