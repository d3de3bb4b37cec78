import type { Db } from 'mongodb';
import { randomBase62 } from '../src/crypto';
import type { Config } from '../src/config';
import { vaultCard } from '../src/store/vault';
import { type PaymentInput, paymentKey } from '../workflows/vocabulary';

/** The sandbox card the synthetic payments use: approved and captured by the simulator. */
const CARD = { number: '4111111111111111', cvv: '123', month: 12, year: 2030 };

/**
 * A sandbox payment's workflow input as the API builds it for a plain card payment (no 3-D Secure, no CallbackUrl,
 * the merchant's default windows), its card put into the vault first as the API does. For the bench's processes that
 * make payments without the HTTP API: bench/payment-work.ts and bench/workflow-types.ts.
 */
export async function vaultedTestPayment(
  db: Db,
  config: Pick<Config, 'vaultKeys' | 'publicBaseUrl' | 'webhook' | 'accountDefaults'>,
  merchantId: string,
  tid: string,
): Promise<PaymentInput> {
  const key = paymentKey('test', merchantId, tid);
  const { threeDSTimeoutMs, refundWindowMs, currency } = config.accountDefaults;
  const vaultToken = await vaultCard(db, config.vaultKeys, key, CARD, threeDSTimeoutMs + 10 * 60_000);
  const reference = `pr_${randomBase62(24)}`;
  return {
    paymentKey: key,
    mode: 'test',
    merchantId,
    tid,
    reference,
    uid: 'bench-customer',
    amount: 1234,
    currency,
    maskedPan: '411111******1111',
    brand: 'visa',
    vaultToken,
    connector: 'simulator',
    threeDSRequested: false,
    threeDSUrl: `${config.publicBaseUrl}/v1/3ds/${reference}`,
    threeDSTimeoutMs,
    refundWindowMs,
    webhook: {
      attemptTimeoutMs: config.webhook.attemptTimeoutMs,
      initialBackoffMs: config.webhook.initialBackoffMs,
      retryForMs: config.webhook.maxRetrySandboxMs,
    },
  };
}
