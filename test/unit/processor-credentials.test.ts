import { inspect } from 'node:util';
import {
  MissingProcessorCredentialsError,
  type OpenedCredentials,
  ProcessorCredentialCache,
} from '../../src/auth/processor-credentials';
import {
  checkStripeSecretKey,
  checkStripeWebhookSecret,
  CredentialFormatError,
  needsCredentials,
  parseStripeCredentialInput,
  stripeKeyHint,
  stripeWebhookSecretHint,
} from '../../src/auth/processor-key-format';
import { applyKeystrokes } from '../../src/cli/secret-input';
import type { ProcessorAccount } from '../../workflows/vocabulary';

/**
 * What `settleflow merchant connect` accepts as a Stripe account's credentials (docs/connectors.md, "Connecting a
 * processor account"), and how long a process keeps them opened. Against the database: test/api/processor-credentials.test.ts.
 */
const RANDOM = 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4';
const LIVE_KEY = `sk_live_${RANDOM}4242`;
const TEST_KEY = `sk_test_${RANDOM}0001`;
const WHSEC = `whsec_${RANDOM}wxyz`;

/** Every message of a refused value: none may carry the value itself. */
function refusal(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(CredentialFormatError);
    return (err as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('Stripe secret keys', () => {
  it('accepts secret and restricted keys of the mode connected, keeping their last 4 characters', () => {
    expect(checkStripeSecretKey(LIVE_KEY, 'live')).toEqual({ last4: '4242', restricted: false });
    expect(checkStripeSecretKey(`rk_live_${RANDOM}9876`, 'live')).toEqual({ last4: '9876', restricted: true });
    expect(checkStripeSecretKey(TEST_KEY, 'test')).toEqual({ last4: '0001', restricted: false });
    expect(checkStripeSecretKey(`rk_test_${RANDOM}`, 'test').restricted).toBe(true);
  });

  it('refuses a key of the other mode, naming only its prefix', () => {
    const live = refusal(() => checkStripeSecretKey(TEST_KEY, 'live'));
    expect(live).toMatch(/test key \(sk_test_…\) cannot connect live mode/);
    expect(live).not.toContain(RANDOM);
    const test = refusal(() => checkStripeSecretKey(`rk_live_${RANDOM}`, 'test'));
    expect(test).toMatch(/live key \(rk_live_…\) cannot connect test mode/);
    expect(test).not.toContain(RANDOM);
  });

  it('refuses publishable keys, other services’ keys, placeholders and mangled values without echoing them', () => {
    expect(refusal(() => checkStripeSecretKey(`pk_live_${RANDOM}`, 'live'))).toMatch(/publishable key/);
    for (const bad of [
      '',
      'sk_live_',
      'sk_live_short',
      `sk_live_${RANDOM} extra`,
      `sk_live_${RANDOM}_x`,
      `"sk_live_${RANDOM}"`,
      `xk_live_${RANDOM}`,
      `sk_prod_${RANDOM}`,
      `ghp_${RANDOM}`,
      WHSEC,
      `sk_live_${'a'.repeat(300)}`,
    ]) {
      const message = refusal(() => checkStripeSecretKey(bad, 'live'));
      expect(message).toMatch(/does not look like a Stripe secret key/);
      expect(message).not.toContain(RANDOM);
    }
  });
});

describe('Stripe webhook signing secrets', () => {
  it('accepts whsec_ secrets from the Dashboard and from the Stripe CLI (hex)', () => {
    expect(checkStripeWebhookSecret(WHSEC)).toEqual({ last4: 'wxyz' });
    expect(checkStripeWebhookSecret(`whsec_${'0123456789abcdef'.repeat(4)}`).last4).toBe('cdef');
  });

  it('refuses anything else', () => {
    for (const bad of ['', 'whsec_', 'whsec_short', LIVE_KEY, `whsec_${RANDOM} x`, `whsec-${RANDOM}`]) {
      const message = refusal(() => checkStripeWebhookSecret(bad));
      expect(message).toMatch(/does not look like a Stripe webhook signing secret/);
      expect(message).not.toContain(RANDOM);
    }
  });

  it('hints show the prefix and the last 4 characters only', () => {
    expect(stripeKeyHint('live', false, '4242')).toBe('sk_live_…4242');
    expect(stripeKeyHint('test', true, '0001')).toBe('rk_test_…0001');
    expect(stripeWebhookSecretHint('wxyz')).toBe('whsec_…wxyz');
  });
});

describe('the input of merchant connect', () => {
  it('reads KEY=value lines as in a .env file: quotes, export, comments, blank lines and CRLF', () => {
    const text = [
      '# Stripe, live account',
      '',
      `export STRIPE_SECRET_KEY="${LIVE_KEY}"`,
      `STRIPE_WEBHOOK_SECRET = '${WHSEC}'`,
      '',
    ].join('\r\n');
    expect(parseStripeCredentialInput(text)).toEqual({ secretKey: LIVE_KEY, webhookSecret: WHSEC });
  });

  it('reads the two bare values in either order, recognised by their prefixes', () => {
    expect(parseStripeCredentialInput(`${LIVE_KEY}\n${WHSEC}\n`)).toEqual({
      secretKey: LIVE_KEY,
      webhookSecret: WHSEC,
    });
    expect(parseStripeCredentialInput(`  ${WHSEC}  \n${TEST_KEY}`)).toEqual({
      secretKey: TEST_KEY,
      webhookSecret: WHSEC,
    });
  });

  it('takes one of the two alone (a rotation of the key or of the webhook secret), or nothing', () => {
    expect(parseStripeCredentialInput(`${LIVE_KEY}\n`)).toEqual({ secretKey: LIVE_KEY });
    expect(parseStripeCredentialInput(`STRIPE_WEBHOOK_SECRET=${WHSEC}`)).toEqual({ webhookSecret: WHSEC });
    expect(parseStripeCredentialInput('\n\n')).toEqual({});
  });

  it('refuses unknown names, unknown values, publishable keys and repeated values, naming lines, not values', () => {
    const cases: [string, RegExp][] = [
      [`STRIPE_PUBLISHABLE_KEY=pk_live_${RANDOM}`, /line 1: unknown name STRIPE_PUBLISHABLE_KEY/],
      [`${LIVE_KEY}\npk_live_${RANDOM}`, /line 2 is a publishable key/],
      [`${LIVE_KEY}\n${RANDOM}`, /line 2 is neither a Stripe secret key/],
      [`${LIVE_KEY}\nSTRIPE_SECRET_KEY=${TEST_KEY}`, /line 2: a second secret key/],
      [`${WHSEC}\n${WHSEC}`, /line 2: a second webhook secret/],
    ];
    for (const [text, expected] of cases) {
      const message = refusal(() => parseStripeCredentialInput(text));
      expect(message).toMatch(expected);
      expect(message).not.toContain(RANDOM);
    }
  });

  it('knows which connectors take credentials', () => {
    expect(needsCredentials('stripe')).toBe(true);
    expect(needsCredentials('simulator')).toBe(false);
  });
});

describe('the hidden prompt', () => {
  it('collects printable characters, erases with backspace, ends at Enter or Ctrl-D, cancels at Ctrl-C', () => {
    expect(applyKeystrokes('', 'sk_live')).toEqual({ value: 'sk_live' });
    expect(applyKeystrokes('sk_livx', '\u007fe_abc\r')).toEqual({ value: 'sk_live_abc', ended: 'enter' });
    expect(applyKeystrokes('whsec_1', '\b2\u001b\n')).toEqual({ value: 'whsec_2', ended: 'enter' });
    expect(applyKeystrokes('abc', '\u0004')).toEqual({ value: 'abc', ended: 'enter' });
    expect(applyKeystrokes('abc', 'd\u0003e')).toEqual({ value: 'abcd', ended: 'cancel' });
  });
});

describe('the credential cache', () => {
  const account: ProcessorAccount = { merchantId: 'mer_cache', mode: 'live' };
  let clock = 0;
  let stored: OpenedCredentials | null;
  let loads = 0;
  const cache = () =>
    new ProcessorCredentialCache(
      async () => {
        loads++;
        await new Promise((resolve) => setImmediate(resolve));
        return stored && { ...stored, webhookSecrets: [...stored.webhookSecrets] };
      },
      { ttlMs: 1000, now: () => clock },
    );
  beforeEach(() => {
    clock = 1_000_000;
    loads = 0;
    stored = { secretKey: LIVE_KEY, webhookSecrets: [{ secret: WHSEC, expiresAt: null }] };
  });

  it('serves a rotation once the TTL has passed, from one read per TTL however many calls', async () => {
    const credentials = cache();
    const reads = await Promise.all(Array.from({ length: 20 }, () => credentials.credentials(account, 'stripe')));
    expect(reads.every((r) => r?.secretKey === LIVE_KEY && r.webhookSecret === WHSEC)).toBe(true);
    expect(loads).toBe(1);

    stored = { secretKey: `sk_live_${RANDOM}9999`, webhookSecrets: [{ secret: WHSEC, expiresAt: null }] };
    clock += 999;
    expect((await credentials.credentials(account, 'stripe'))?.secretKey).toBe(LIVE_KEY);
    clock += 1;
    expect((await credentials.credentials(account, 'stripe'))?.secretKey).toBe(`sk_live_${RANDOM}9999`);
    expect(loads).toBe(2);
  });

  it('keeps accounts, modes and connectors apart', async () => {
    const credentials = cache();
    await credentials.credentials(account, 'stripe');
    await credentials.credentials({ ...account, mode: 'test' }, 'stripe');
    await credentials.credentials({ ...account, merchantId: 'mer_other' }, 'stripe');
    await credentials.credentials(account, 'adyen');
    expect(loads).toBe(4);
  });

  it('does not remember an account without credentials: one connected a moment later is served at once', async () => {
    const credentials = cache();
    stored = null;
    expect(await credentials.credentials(account, 'stripe')).toBeNull();
    await expect(credentials.require(account, 'stripe')).rejects.toThrow(MissingProcessorCredentialsError);
    await expect(credentials.require(account, 'stripe')).rejects.toThrow(
      'merchant mer_cache has no stripe credentials for live mode: run settleflow merchant connect --merchant mer_cache --connector stripe --mode live',
    );
    stored = { secretKey: LIVE_KEY, webhookSecrets: [{ secret: WHSEC, expiresAt: null }] };
    expect((await credentials.require(account, 'stripe')).secretKey).toBe(LIVE_KEY);
  });

  it('gives a connector its secret-key function, which refuses calls without an account', async () => {
    const secretKeys = cache().secretKeys('stripe');
    expect(await secretKeys(account)).toEqual({ secretKey: LIVE_KEY });
    await expect(secretKeys(undefined)).rejects.toThrow(/without a processor account/);
  });

  it('does not remember a failed read', async () => {
    let fail = true;
    const credentials = new ProcessorCredentialCache(
      () => {
        loads++;
        return fail
          ? Promise.reject(new Error('sealed value needs vault key X, which is not configured'))
          : Promise.resolve(stored);
      },
      { ttlMs: 1000, now: () => clock },
    );
    await expect(credentials.credentials(account, 'stripe')).rejects.toThrow(/not configured/);
    fail = false;
    expect((await credentials.credentials(account, 'stripe'))?.secretKey).toBe(LIVE_KEY);
  });

  it('ends a previous webhook secret at its grace period’s end, not a TTL later', async () => {
    stored = {
      secretKey: LIVE_KEY,
      webhookSecrets: [
        { secret: `whsec_${RANDOM}new1`, expiresAt: null },
        { secret: WHSEC, expiresAt: clock + 500 },
      ],
    };
    const credentials = cache();
    expect(await credentials.webhookSecrets(account, 'stripe')).toEqual([`whsec_${RANDOM}new1`, WHSEC]);
    clock += 500;
    expect(await credentials.webhookSecrets(account, 'stripe')).toEqual([`whsec_${RANDOM}new1`]);
    expect((await credentials.credentials(account, 'stripe'))?.webhookSecret).toBe(`whsec_${RANDOM}new1`);
    expect(loads).toBe(1);
  });

  it('reads again after invalidate and clear', async () => {
    const credentials = cache();
    await credentials.credentials(account, 'stripe');
    credentials.invalidate(account, 'stripe');
    await credentials.credentials(account, 'stripe');
    credentials.clear();
    await credentials.credentials(account, 'stripe');
    expect(loads).toBe(3);
  });

  it('shows no secret when printed', async () => {
    const credentials = cache();
    await credentials.credentials(account, 'stripe');
    expect(JSON.stringify(credentials)).not.toContain(RANDOM);
    expect(inspect(credentials, { depth: 10 })).not.toContain(RANDOM);
  });
});
