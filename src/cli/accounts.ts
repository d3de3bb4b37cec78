import { type Command, InvalidArgumentError, Option } from 'commander';
import { KNOWN_CONNECTORS } from '../../activities/psp';
import { createMerchant, revokeApiKey, rotateApiKey, rotateWebhookSecret, setMerchantStatus } from '../auth/accounts';
import type { Mode } from '../../workflows/vocabulary';
import { setMerchantRateLimit } from '../store/merchants';
import { needsCredentials } from '../auth/processor-key-format';
import { registerProcessorCommands } from './processors';
import { duration, field, modeOption, positiveInteger, print, withMongo } from './shared';

const requestsPerMinute = (value: string) => {
  if (!/^[0-9]+$/.test(value) || !(Number(value) > 0) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError('a positive whole number of requests per minute');
  }
  return Number(value);
};

/**
 * A connector that needs the account's processor credentials is refused here: a merchant created with it would
 * send live payments to a processor with no key to call it. `merchant connect` stores the credentials and then
 * routes live payments to it, in that order.
 */
const liveConnector = (value: string) => {
  if (needsCredentials(value))
    throw new InvalidArgumentError(
      `${value} needs the account's ${value} credentials: create the merchant without --live-connector, then run settleflow merchant connect --merchant <id> --connector ${value} --mode live`,
    );
  if (!(KNOWN_CONNECTORS as readonly string[]).includes(value))
    throw new InvalidArgumentError(
      `expected one of: ${KNOWN_CONNECTORS.filter((c) => !needsCredentials(c)).join(', ')}`,
    );
  return value;
};

/** `merchant`, `key` and `webhook-secret`: accounts and their secrets. */
export function registerAccountCommands(program: Command): void {
  const merchant = program.command('merchant').description('merchant accounts and their processor accounts');
  merchant
    .command('create')
    .description('create a merchant with a sandbox key (and a live key with --live) and a webhook secret')
    .requiredOption('--name <name>', 'merchant name')
    .option('--currency <code>', 'settlement currency (ISO 4217)', 'EUR')
    .option('--max-amount <minor>', 'per-transaction limit in minor units (code 300 above it)', positiveInteger)
    .option('--no-3ds', 'refuse 3DS=yes on this account (code 8)')
    .option('--require <field>', 'a field every payment must carry (repeatable; code 222 when absent)', field)
    .option('--live', 'issue a live key too')
    .addOption(
      new Option(
        '--live-connector <name>',
        'processor connector for live payments that needs no credentials (simulator); for a processor account use merchant connect',
      ).argParser(liveConnector),
    )
    .option('--3ds-timeout <duration>', 'how long a 3DS challenge may take', duration)
    .option('--refund-window <duration>', 'how long after capture a refund is allowed', duration)
    .option(
      '--rate-limit <perMinute>',
      'requests per minute per API key (code 9 above it; default RATE_LIMIT_PER_MINUTE)',
      requestsPerMinute,
    )
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        name: string;
        currency: string;
        maxAmount?: number;
        '3ds': boolean;
        require?: string[];
        live?: boolean;
        liveConnector?: string;
        '3dsTimeout'?: number;
        refundWindow?: number;
        rateLimit?: number;
        json?: boolean;
      }) => {
        if (!/^[A-Za-z]{3}$/.test(opts.currency)) throw new InvalidArgumentError('--currency must be an ISO 4217 code');
        const created = await withMongo(async ({ db }, config) => {
          const merchant = await createMerchant(db, config, {
            name: opts.name,
            currency: opts.currency,
            maxAmount: opts.maxAmount ?? null,
            threeDSAllowed: opts['3ds'],
            requiredFields: opts.require ?? [],
            live: opts.live ?? false,
            liveConnector: opts.liveConnector ?? null,
            threeDSTimeoutMs: opts['3dsTimeout'],
            refundWindowMs: opts.refundWindow,
          });
          if (opts.rateLimit !== undefined) await setMerchantRateLimit(db, merchant.merchantId, opts.rateLimit);
          return merchant;
        });
        print(
          !!opts.json,
          { ...created },
          [
            `merchant       ${created.merchantId}`,
            `sandbox key    ${created.testKey}`,
            `live key       ${created.liveKey ?? '(none: pass --live)'}`,
            `webhook secret ${created.webhookSecret}`,
            'Keys and the secret are shown once: store them now.',
          ].join('\n'),
        );
      },
    );

  for (const [name, status] of [
    ['disable', 'disabled'],
    ['enable', 'active'],
  ] as const) {
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

  merchant
    .command('rate-limit <merchantId> <perMinute>')
    .description(
      'requests per minute per API key of the account (code 9 above it), or "default" for RATE_LIMIT_PER_MINUTE; API processes apply it within KEY_CACHE_TTL',
    )
    .option('--json', 'machine-readable output')
    .action(async (merchantId: string, perMinute: string, opts: { json?: boolean }) => {
      const limit = perMinute === 'default' ? null : requestsPerMinute(perMinute);
      const found = await withMongo(({ db }) => setMerchantRateLimit(db, merchantId, limit));
      if (!found) throw new Error(`no merchant ${merchantId}`);
      print(
        !!opts.json,
        { merchantId, rateLimitPerMinute: limit },
        `${merchantId}: ${limit === null ? 'the default request limit' : `${limit} requests per minute per key`}`,
      );
    });

  registerProcessorCommands(merchant);

  const key = program.command('key').description('API keys');
  key
    .command('rotate')
    .description('issue a new key; the current ones keep working for the grace period')
    .requiredOption('--merchant <merchantId>', 'merchant id')
    .addOption(modeOption())
    .option('--grace <duration>', 'how long the replaced keys keep working (default KEY_ROTATION_GRACE, 24h)', duration)
    .option('--json', 'machine-readable output')
    .action(async (opts: { merchant: string; mode: Mode; grace?: number; json?: boolean }) => {
      const rotated = await withMongo(({ db }, config) =>
        rotateApiKey(db, opts.merchant, opts.mode, opts.grace ?? config.keyRotationGraceMs),
      );
      print(
        !!opts.json,
        {
          merchantId: opts.merchant,
          mode: opts.mode,
          key: rotated.key,
          oldKeysExpireAt: rotated.oldKeysExpireAt.toISOString(),
        },
        `new ${opts.mode} key  ${rotated.key}\nprevious keys stop working at ${rotated.oldKeysExpireAt.toISOString()}`,
      );
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
    .option(
      '--grace <duration>',
      'how long the previous secrets keep signing (default WEBHOOK_SECRET_GRACE, 24h)',
      duration,
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { merchant: string; grace?: number; json?: boolean }) => {
      const rotated = await withMongo(({ db }, config) =>
        rotateWebhookSecret(db, config, opts.merchant, opts.grace ?? config.webhookSecretGraceMs),
      );
      print(
        !!opts.json,
        {
          merchantId: opts.merchant,
          webhookSecret: rotated.webhookSecret,
          oldSecretsExpireAt: rotated.oldSecretsExpireAt.toISOString(),
        },
        `new webhook secret  ${rotated.webhookSecret}\nprevious secrets stop signing at ${rotated.oldSecretsExpireAt.toISOString()}`,
      );
    });
}
