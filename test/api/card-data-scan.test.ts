import path from 'node:path';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { CONTRACT_CARDS, scanForCardData } from '../support/card-scan';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * PCI-DSS: no PAN and no CVV in Temporal history, projections, webhook bodies or logs. The test drives payments
 * through every path a card takes (approve, decline, transient failure, 3-D Secure, refund), then reads back
 * everything the system wrote — the histories of every workflow on the server, not only its own — and scans it.
 */
let stack: StackClients;
let merchant: CreatedMerchant;
const receiver = new WebhookReceiver();

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
});
afterAll(async () => {
  await receiver.stop();
  await stack.close();
});

it('no card number or CVV in histories, projections, webhook bodies or logs', async () => {
  const callbackUrl = await receiver.start();
  const challengeCards = ['4000000000003220', '4000008400001629', '6759649826438453'];
  const cardPaths = [
    ...CONTRACT_CARDS.filter((card) => !challengeCards.includes(card)).map((card) => paymentBody({ CardNumber: card, CallbackUrl: callbackUrl })),
    paymentBody({ CardNumber: '4000000000003220', ReturnUrl: 'https://shop.example/return', CallbackUrl: callbackUrl }),
    paymentBody({ CardNumber: '6759649826438453', '3DS': 'yes', ReturnUrl: 'https://shop.example/return', CallbackUrl: callbackUrl }),
  ];
  const answers = await Promise.all(cardPaths.map((body) => post(stack.apiUrl, 'payment', merchant.testKey, body)));
  expect(answers.every((a) => a.body.Code === 0)).toBe(true);
  const captured = answers.find((a) => a.body.Result!.Status === 'captured')!;
  expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: captured.body.Result!.Tid as string })).body.Code).toBe(0);
  await eventually('webhooks for the final payments', () => Promise.resolve(receiver.received.length >= 7 ? true : undefined));

  const report = await scanForCardData(stack.temporal, stack.db, path.join(stack.config.dataDir, 'logs'), [
    ...answers.map((answer) => ({ where: 'a payment answer', text: JSON.stringify(answer.body) })),
    ...receiver.received.map((hook) => ({ where: 'a webhook body', text: hook.rawBody })),
  ]);
  expect(report.findings).toEqual([]);
  expect(report.histories).toBeGreaterThanOrEqual(cardPaths.length);
  // Proof the decoding works: the masked form, which does belong in the input, is found.
  expect(report.sawMaskedPan).toBe(true);
  for (const doc of await stack.db.collection('payments').find({}).toArray()) expect(doc.maskedPan).toMatch(/^\d{6}\*+\d{4}$/);
}, 120_000);
