import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { findCardData, scanForCardData } from '../support/card-scan';
import { type Encoding, eventually, newMerchant, paymentBody, post } from '../support/factories';
import { type PrivateStack, startPrivateStack } from '../support/private-stack';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { paymentWorkflowId } from '../../workflows/vocabulary';

/**
 * PCI-DSS: no PAN and no CVV anywhere the system writes. The test runs a stack of its own whose worker and API log
 * at `debug`, so that everything in its database and its data dir comes from this test and from the most verbose
 * level. (Measured: the private stack starts in 6–10 s; `debug` for the whole suite instead would add ~13 lines and
 * ~8 KB of worker log per payment, and the scan would then see, and depend on, whatever other files were doing.)
 * It drives every sandbox card (docs/sandbox.md), in every body encoding and in spaced and dashed forms, answers
 * each 3-D Secure card's challenge both ways through the hosted page's form, lets one challenge expire, refunds, and
 * sends refused requests that carry card data; then it scans with the one rule of test/support/card-scan.ts: every
 * collection the database lists, every file under the logs dir, the history of every payment it made, every
 * webhook received, every answer and page, and the processor's records (the simulator's collections).
 *
 * How it was shown to fail (each break made in the working tree, built, the test run, the break reverted):
 * - authorizePayment logs the card at debug, digits in groups of four → 17 findings in log worker.log;
 * - the simulator stores each authorization request (card included) in a new collection → 17 card numbers and 17
 *   CVVs in the simulator_requests collection;
 * - authorizePayment returns the CVV as `securityCode` next to the outcome → 15 findings in the histories;
 * - the webhook body carries `Card: "4111-1111-1111-1111"` → 15 findings in webhook bodies and 15 in webhook_events.
 * The previous scan would have missed each: it read logs at `info`, five named collections, the ten card strings
 * undivided and five case-sensitive field names.
 */
/** docs/sandbox.md: what each test card does (the status is the one its final webhook reports). */
const DIRECT_CARDS: { card: string; status: string }[] = [
  { card: '4111111111111111', status: 'captured' },
  // Spaced and dashed, as cardholders type them: a leak of the input as given must be found too.
  { card: '4242 4242 4242 4242', status: 'captured' },
  { card: '5555-5555-5555-4444', status: 'captured' },
  { card: '4000000000000002', status: 'failed' },
  { card: '4000000000009995', status: 'failed' },
  { card: '4000000000000069', status: 'failed' },
  // Fails transiently twice: the retries carry the card again.
  { card: '4000000000000119', status: 'captured' },
  // Authorized, capture declined, authorization voided: the void carries the authorization, never the card.
  { card: '4000000000000267', status: 'failed' },
];
/** The 3-D Secure cards, answered both ways on the hosted page. */
const CHALLENGES: { card: string; extra?: Record<string, string>; answer: 'approved' | 'failed'; status: string }[] = [
  { card: '4000000000003220', answer: 'approved', status: 'captured' },
  { card: '4000000000003220', answer: 'failed', status: 'rejected_pw' },
  { card: '4000008400001629', answer: 'approved', status: 'failed' },
  { card: '4000008400001629', answer: 'failed', status: 'rejected_pw' },
  { card: '6759649826438453', extra: { '3DS': 'yes' }, answer: 'approved', status: 'captured' },
  { card: '6759649826438453', extra: { '3DS': 'yes' }, answer: 'failed', status: 'rejected_pw' },
];
const FINAL_EVENT: Record<string, string> = {
  captured: 'PAYMENT_CAPTURED',
  failed: 'PAYMENT_FAILED',
  rejected_pw: 'PAYMENT_REJECTED',
  cancelled: 'PAYMENT_CANCELLED',
};
const ENCODINGS: Encoding[] = ['json', 'form', 'multipart'];

let stack: PrivateStack;
const receiver = new WebhookReceiver();

beforeAll(async () => {
  stack = await startPrivateStack({ LOG_LEVEL: 'debug' });
}, 180_000);
afterAll(async () => {
  await receiver.stop();
  await stack?.close();
}, 60_000);

/** Opens the hosted 3-D Secure page and posts the cardholder's answer, as the browser's form does. */
async function answerChallenge(url: string, answer: 'approved' | 'failed'): Promise<string[]> {
  const page = await (await fetch(url)).text();
  const token = /name="token" value="([0-9a-f]{64})"/.exec(page)?.[1];
  expect(token).toBeDefined();
  const res = await fetch(url, {
    method: 'POST',
    body: new URLSearchParams({ token: token!, result: answer }),
    redirect: 'manual',
  });
  return [page, await res.text()];
}

it('finds no card number or CVV in any collection, log, history, webhook, answer or processor record', async () => {
  const callbackUrl = await receiver.start();
  const merchant = await newMerchant(stack);
  // Its challenges expire quickly: the `cancelled` path, which deletes the card from the vault at the timeout.
  const impatient = await newMerchant(stack, { threeDSTimeoutMs: 2_000 });
  const made: { merchant: CreatedMerchant; tid: string; status: string }[] = [];
  const texts: { where: string; text: string }[] = [];
  const keep = (where: string, text: string) => texts.push({ where, text });

  const pay = async (who: CreatedMerchant, overrides: Record<string, string>, encoding: Encoding) => {
    const body = paymentBody({ CallbackUrl: callbackUrl, ReturnUrl: 'https://shop.example/return', ...overrides });
    const answer = await post(stack.apiUrl, 'payment', who.testKey, body, encoding);
    keep(`the answer for ${body.CardNumber}`, JSON.stringify(answer.body));
    expect(answer.body.Code).toBe(0);
    return { tid: body.Tid!, result: answer.body.Result! };
  };

  await Promise.all([
    ...DIRECT_CARDS.map(async ({ card, status }, i) => {
      // The outcome is checked by its webhook below: on a loaded machine the answer may come before it (`pending`).
      const { tid } = await pay(merchant, { CardNumber: card, CardCVV: i % 2 ? '123' : '9876' }, ENCODINGS[i % 3]!);
      made.push({ merchant, tid, status });
    }),
    ...CHALLENGES.map(async ({ card, extra, answer, status }, i) => {
      const { tid, result } = await pay(merchant, { CardNumber: card, ...extra }, ENCODINGS[i % 3]!);
      expect(result.Status).toBe('pending');
      const pages = await answerChallenge(result['3DSecureUrl'] as string, answer);
      pages.forEach((html) => keep(`the 3-D Secure pages of ${card}`, html));
      made.push({ merchant, tid, status });
    }),
    (async () => {
      const { tid } = await pay(impatient, { CardNumber: '4000000000003220' }, 'json');
      made.push({ merchant: impatient, tid, status: 'cancelled' });
    })(),
  ]);

  // Every payment reaches the final state its card and answer lead to (docs/sandbox.md), and tells the merchant.
  const told = (tid: string, event: string) =>
    receiver.forTid(tid).some((hook) => hook.headers['x-settleflow-event'] === event);
  await eventually(
    'every final webhook',
    () => Promise.resolve(made.every(({ tid, status }) => told(tid, FINAL_EVENT[status]!)) || undefined),
    60_000,
  );

  // A refund: the card is gone by then, but its path writes projections, references and a webhook too.
  const refunded = made.find((m) => m.status === 'captured')!;
  const refund = await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: refunded.tid });
  keep('the refund answer', JSON.stringify(refund.body));
  expect(refund.body.Code).toBe(0);
  await eventually('the refund webhook', () => Promise.resolve(told(refunded.tid, 'REFUND_SUCCEEDED') || undefined));

  // Refused requests that carry card data: the error paths must not write or log it either.
  const refusals: [string, Record<string, string>][] = [
    [merchant.testKey, paymentBody({ CardNumber: '4111111111111111', CardCVV: '12a' })],
    [merchant.testKey, paymentBody({ CardNumber: '4242424242424242', CardYear: '2001' })],
    [merchant.testKey, paymentBody({ CardNumber: '6759649826438453' })],
    [merchant.testKey, paymentBody({ CardNumber: '5555555555554444', Amount: undefined })],
    [merchant.testKey, paymentBody({ CardNumber: '4111111111111111', Tid: refunded.tid })],
    ['sk_test_not_a_real_key_000000000000', paymentBody({ CardNumber: '4111111111111111' })],
  ];
  for (const [key, body] of refusals) {
    const answer = await post(stack.apiUrl, 'payment', key, body, 'form');
    expect(answer.body.Code).not.toBe(0);
    keep(`the answer to a refused request (${answer.body.Code})`, JSON.stringify(answer.body));
  }
  for (const hook of receiver.received) keep('a webhook', `${JSON.stringify(hook.headers)}\n${hook.rawBody}`);

  const workflowIds = made.map(({ merchant: who, tid }) => paymentWorkflowId('test', who.merchantId, tid));
  const logDir = path.join(stack.config.dataDir, 'logs');
  const report = await scanForCardData(stack.temporal, stack.db, logDir, texts, { workflowIds });
  expect(report.findings).toEqual([]);

  // What was scanned, so the clean result means something.
  expect(report.histories).toBe(workflowIds.length);
  // The masked form, which does belong in the histories, is found there: the payloads were decoded.
  expect(report.sawMaskedPan).toBe(true);
  const listed = (await stack.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  expect(Object.keys(report.collections).sort()).toEqual(listed);
  for (const name of [
    'payments',
    'references',
    'vault',
    'webhook_events',
    'webhook_attempts',
    'simulator_ledger',
    'merchants',
  ]) {
    expect(listed).toContain(name);
  }
  expect(report.collections.payments).toBe(made.length);
  // The processor's records of this test's payments: what a leak into processor traffic would land in.
  expect(report.collections.simulator_ledger).toBeGreaterThanOrEqual(made.length);
  // Every process of this stack, and only this stack, wrote there: on the cluster profile each Temporal service,
  // the UI server, the schema tool and PostgreSQL have a log of their own.
  const temporalLogs = stack.stack.cluster
    ? [
        ...[...stack.stack.cluster.processes.keys()].map((name) => `temporal-${name}.log`),
        'temporal-sql-tool.log',
        'postgres.log',
      ]
    : ['temporal.log'];
  expect(Object.keys(report.logFiles).sort()).toEqual(
    ['api.log', 'ferretdb.log', 'worker.log', ...temporalLogs].sort(),
  );
  // The worker did log at debug: the level the scan is about.
  expect(readFileSync(path.join(logDir, 'worker.log'), 'utf8')).toContain('"level":20');
  // And the scan would have seen the card in all that: the rule finds every card this test used.
  for (const { card } of [...DIRECT_CARDS, ...CHALLENGES]) expect(findCardData(`{"x":"${card}"}`)).toHaveLength(1);
}, 180_000);
