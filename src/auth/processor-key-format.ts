import type { Mode } from '../../workflows/vocabulary';

/**
 * The shape of a processor account's credentials as an operator hands them to `settleflow merchant connect`
 * (docs/connectors.md, "Connecting a processor account"): checked before anything is stored, so a key of the wrong
 * mode or a pasted publishable key is refused at the command rather than at the first live payment.
 *
 * Nothing here ever puts a credential in an error message: a refused value is described by its prefix at most.
 */

/** The connectors whose payments need an account's credentials (the simulator needs none). */
export const CREDENTIAL_CONNECTORS = ['stripe'] as const;
export type CredentialConnector = (typeof CREDENTIAL_CONNECTORS)[number];

export function needsCredentials(connector: string): connector is CredentialConnector {
  return (CREDENTIAL_CONNECTORS as readonly string[]).includes(connector);
}

export class CredentialFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialFormatError';
  }
}

export interface StripeCredentialInput {
  secretKey?: string;
  webhookSecret?: string;
}

// Stripe's secret (`sk_`) and restricted (`rk_`) keys: the mode, then one word of letters and digits (tens of
// characters for dashboard keys). A length floor keeps obvious placeholders out; `_` or anything else inside the
// random part means the value was mangled (a second value pasted onto the line, a quote, a space).
const STRIPE_KEY = /^(sk|rk)_(test|live)_([0-9A-Za-z]{16,255})$/;
// Webhook signing secrets: `whsec_` and a random part (letters and digits from the Dashboard, hex from the CLI).
const STRIPE_WEBHOOK_SECRET = /^whsec_[0-9A-Za-z+/=]{16,255}$/;

/**
 * What is kept and shown of a secret: its last 4 characters, enough to tell two apart and nothing that helps to
 * guess one. Stored without the prefix, so no stored text looks like a Stripe secret to a scanner; the hints below
 * put the prefix back for display.
 */
export const last4 = (value: string) => value.slice(-4);

export const stripeKeyHint = (mode: Mode, restricted: boolean, keyLast4: string) =>
  `${restricted ? 'rk' : 'sk'}_${mode}_…${keyLast4}`;
export const stripeWebhookSecretHint = (secretLast4: string) => `whsec_…${secretLast4}`;

/** Checks a Stripe secret or restricted key for the mode it is to serve. */
export function checkStripeSecretKey(
  key: string,
  mode: Mode,
  { allowTestKeyForLive = false }: { allowTestKeyForLive?: boolean } = {},
): { last4: string; restricted: boolean } {
  const match = STRIPE_KEY.exec(key);
  if (!match) {
    if (/^pk_(test|live)_/.test(key))
      throw new CredentialFormatError(
        'that is a publishable key (pk_…): SettleFlow needs the secret key (sk_…) or a restricted key (rk_…)',
      );
    throw new CredentialFormatError(
      'the secret key does not look like a Stripe secret key: expected sk_live_…, sk_test_…, rk_live_… or rk_test_…',
    );
  }
  const keyMode = match[2] as Mode;
  // STRIPE_ALLOW_TEST_KEYS_FOR_LIVE (never in production): live accounts against stripe-mock, which takes test keys only.
  if (keyMode !== mode && !(allowTestKeyForLive && keyMode === 'test')) {
    throw new CredentialFormatError(
      mode === 'live'
        ? `a test key (${match[1]}_test_…) cannot connect live mode: use the account's live key (sk_live_… or rk_live_…)`
        : `a live key (${match[1]}_live_…) cannot connect test mode: use the account's test key (sk_test_… or rk_test_…)`,
    );
  }
  return { last4: last4(key), restricted: match[1] === 'rk' };
}

/** Checks a Stripe webhook signing secret. */
export function checkStripeWebhookSecret(secret: string): { last4: string } {
  if (!STRIPE_WEBHOOK_SECRET.test(secret))
    throw new CredentialFormatError('the webhook secret does not look like a Stripe webhook signing secret (whsec_…)');
  return { last4: last4(secret) };
}

const NAMES: Record<string, keyof StripeCredentialInput> = {
  STRIPE_SECRET_KEY: 'secretKey',
  STRIPE_WEBHOOK_SECRET: 'webhookSecret',
};

/**
 * Reads what `merchant connect` got on stdin or from its file. Either form, one value a line:
 * - `STRIPE_SECRET_KEY=sk_live_…` and `STRIPE_WEBHOOK_SECRET=whsec_…` (as in a `.env` file; quotes around the
 *   value are allowed), or
 * - the bare values, in any order: each is recognised by its prefix (`sk_`/`rk_` or `whsec_`).
 * Blank lines and `#` comments are skipped. Formats are checked later (checkStripeSecretKey, checkStripeWebhookSecret),
 * once the mode is known.
 */
export function parseStripeCredentialInput(text: string): StripeCredentialInput {
  const found: StripeCredentialInput = {};
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    let field: keyof StripeCredentialInput;
    let value: string;
    const assignment = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (assignment) {
      const name = assignment[1]!;
      const known = NAMES[name.toUpperCase()];
      if (!known)
        throw new CredentialFormatError(
          `line ${index + 1}: unknown name ${name}: expected STRIPE_SECRET_KEY or STRIPE_WEBHOOK_SECRET`,
        );
      field = known;
      value = unquote(assignment[2]!.trim());
    } else if (/^(sk|rk)_/.test(line)) {
      field = 'secretKey';
      value = line;
    } else if (line.startsWith('whsec_')) {
      field = 'webhookSecret';
      value = line;
    } else if (line.startsWith('pk_')) {
      throw new CredentialFormatError(
        `line ${index + 1} is a publishable key (pk_…): SettleFlow needs the secret key (sk_…) or a restricted key (rk_…)`,
      );
    } else {
      throw new CredentialFormatError(
        `line ${index + 1} is neither a Stripe secret key (sk_…, rk_…) nor a webhook signing secret (whsec_…), nor NAME=value`,
      );
    }
    if (found[field] !== undefined)
      throw new CredentialFormatError(`line ${index + 1}: a second ${describeField(field)}; give each one once`);
    found[field] = value;
  });
  return found;
}

function unquote(value: string): string {
  const quoted = /^(['"])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}

function describeField(field: keyof StripeCredentialInput): string {
  return field === 'secretKey' ? 'secret key' : 'webhook secret';
}
