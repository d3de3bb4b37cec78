import { type Command, Option } from 'commander';
import ms from 'ms';
import {
  connectProcessor,
  connectWithoutCredentials,
  DEFAULT_PROCESSOR_WEBHOOK_GRACE_MS,
  disconnectProcessor,
  type ProcessorConnection,
  processorConnections,
} from '../auth/processor-credentials';
import { CREDENTIAL_CONNECTORS, needsCredentials, parseStripeCredentialInput } from '../auth/processor-key-format';
import { findMerchant } from '../store/merchants';
import type { Mode } from '../../workflows/vocabulary';
import { readSecretText } from './secret-input';
import { duration, modeOption, print, withMongo } from './shared';

/**
 * `merchant connect`, `merchant disconnect`, `merchant processors`: which processor account a merchant's payments
 * go to, per mode (docs/connectors.md, "Connecting a processor account"). Secrets come from stdin or a file and
 * are never printed: only their hints (prefix and last 4 characters) are.
 */

const INPUT_HELP = `
Credentials (never on the command line) come from --from-file or stdin, one value a line, either as
  STRIPE_SECRET_KEY=sk_live_...
  STRIPE_WEBHOOK_SECRET=whsec_...
or as the two bare values in any order. At a terminal they are asked for without echo. The key must be of the
mode connected (sk_live_/rk_live_ for live, sk_test_/rk_test_ for test). Running connect again rotates: give the
new key, the new webhook secret, or both; the previous webhook secret keeps verifying for --webhook-grace.

Examples:
  settleflow merchant connect --merchant mer_... --connector stripe --mode live --from-file stripe-live.env
  settleflow merchant connect --merchant mer_... --connector stripe --mode test      # asks at the terminal
  settleflow merchant connect --merchant mer_... --connector simulator --mode test   # back to the simulator`;

function connectionLines(c: ProcessorConnection): string[] {
  return [
    `secret key      ${c.keyHint}`,
    `webhook secret  ${c.webhookSecretHint}`,
    ...c.previousWebhookSecrets.map(
      (p) => `                ${p.hint} (previous) verifies until ${p.expiresAt.toISOString()}`,
    ),
    `connected       ${c.connectedAt.toISOString()}${c.rotatedAt ? `, rotated ${c.rotatedAt.toISOString()}` : ''}`,
  ];
}

function connectionJson(c: ProcessorConnection): Record<string, unknown> {
  return {
    ...c,
    connectedAt: c.connectedAt.toISOString(),
    rotatedAt: c.rotatedAt?.toISOString() ?? null,
    previousWebhookSecrets: c.previousWebhookSecrets.map((p) => ({ ...p, expiresAt: p.expiresAt.toISOString() })),
  };
}

const modeName = (mode: Mode) => (mode === 'live' ? 'live' : 'sandbox');

export function registerProcessorCommands(merchant: Command): void {
  merchant
    .command('connect')
    .description(
      "send the mode's payments to a processor account: store its credentials (sealed), or choose the simulator",
    )
    .requiredOption('--merchant <merchantId>', 'merchant id')
    .addOption(
      new Option('--connector <name>', 'processor connector')
        .choices(['simulator', ...CREDENTIAL_CONNECTORS])
        .makeOptionMandatory(),
    )
    .addOption(
      new Option('--mode <mode>', "which mode's payments: test (sandbox) or live")
        .choices(['test', 'live'])
        .makeOptionMandatory(),
    )
    .option('--from-file <path>', 'read the credentials from this file instead of stdin')
    .option(
      '--webhook-grace <duration>',
      'how long a replaced webhook signing secret keeps verifying (default 24h; 0 after a leak)',
      duration,
    )
    .option('--json', 'machine-readable output')
    .addHelpText('after', INPUT_HELP)
    .action(
      async (opts: {
        merchant: string;
        connector: string;
        mode: Mode;
        fromFile?: string;
        webhookGrace?: number;
        json?: boolean;
      }) => {
        if (!needsCredentials(opts.connector)) {
          if (opts.fromFile !== undefined) throw new Error(`${opts.connector} takes no credentials: drop --from-file`);
          await withMongo(({ db }) => connectWithoutCredentials(db, opts.merchant, opts.mode, opts.connector));
          print(
            !!opts.json,
            { merchantId: opts.merchant, mode: opts.mode, connector: opts.connector },
            `${modeName(opts.mode)} payments of ${opts.merchant} now go to the ${opts.connector}; stored processor credentials are kept for the payments already made through them`,
          );
          return;
        }
        const connector = opts.connector;
        const text = await readSecretText({
          fromFile: opts.fromFile,
          prompts: [
            `Stripe ${opts.mode} secret key (sk_${opts.mode}_… or rk_${opts.mode}_…; empty keeps the stored one): `,
            'Webhook signing secret (whsec_…; empty keeps the stored one): ',
          ],
        });
        const given = parseStripeCredentialInput(text);
        const { connection, ttlMs } = await withMongo(async ({ db }, config) => ({
          connection: await connectProcessor(db, config.vaultKeys, {
            merchantId: opts.merchant,
            mode: opts.mode,
            connector,
            secretKey: given.secretKey,
            webhookSecret: given.webhookSecret,
            webhookSecretGraceMs: opts.webhookGrace ?? DEFAULT_PROCESSOR_WEBHOOK_GRACE_MS,
            allowTestKeyForLive: config.stripe.allowTestKeysForLive,
          }),
          ttlMs: config.keyCacheTtlMs,
        }));
        print(
          !!opts.json,
          connectionJson(connection),
          [
            `${opts.merchant} ${opts.mode}: ${connection.rotatedAt ? 'rotated' : 'connected'} ${connector}`,
            ...connectionLines(connection),
            `${modeName(opts.mode)} payments go to ${connector}; API processes and workers use these credentials within KEY_CACHE_TTL (${ms(ttlMs)})`,
          ].join('\n'),
        );
      },
    );

  merchant
    .command('disconnect')
    .description(
      "stop sending the mode's payments to a processor: live payments then answer 7, sandbox ones go to the simulator",
    )
    .requiredOption('--merchant <merchantId>', 'merchant id')
    .addOption(modeOption())
    .option(
      '--forget',
      "also delete the mode's stored credentials (payments made through them can then no longer be captured or refunded)",
    )
    .option('--json', 'machine-readable output')
    .action(async (opts: { merchant: string; mode: Mode; forget?: boolean; json?: boolean }) => {
      const { forgotten } = await withMongo(({ db }) =>
        disconnectProcessor(db, opts.merchant, opts.mode, { forget: !!opts.forget }),
      );
      print(
        !!opts.json,
        { merchantId: opts.merchant, mode: opts.mode, forgotten },
        [
          opts.mode === 'live'
            ? `live payments of ${opts.merchant} now answer 7 (not set up)`
            : `sandbox payments of ${opts.merchant} now go to the simulator`,
          opts.forget
            ? `deleted ${forgotten} stored credential set(s)`
            : 'stored credentials are kept for the payments already made through them (--forget deletes them)',
        ].join('\n'),
      );
    });

  merchant
    .command('processors <merchantId>')
    .description("where the merchant's payments go in each mode, and the stored credentials' hints and dates")
    .option('--json', 'machine-readable output')
    .action(async (merchantId: string, opts: { json?: boolean }) => {
      const { doc, connections } = await withMongo(async ({ db }) => ({
        doc: await findMerchant(db, merchantId),
        connections: await processorConnections(db, merchantId),
      }));
      if (!doc) throw new Error(`no merchant ${merchantId}`);
      const test = doc.sandboxConnector ?? 'simulator';
      const live = doc.liveConnector;
      print(
        !!opts.json,
        { merchantId, test, live, credentials: connections.map(connectionJson) },
        [
          `sandbox payments  ${test}`,
          `live payments     ${live ?? '(not set up: code 7)'}`,
          ...connections.flatMap((c) => [
            '',
            `${c.connector} ${c.mode}${(c.mode === 'live' ? live : test) === c.connector ? ' (in use)' : ''}`,
            ...connectionLines(c),
          ]),
        ].join('\n'),
      );
    });
}
