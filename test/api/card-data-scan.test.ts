import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../support/webhook-receiver';

/**
 * PCI-DSS: no PAN and no CVV in Temporal history, projections, webhook bodies or logs. The test drives payments
 * through every path a card takes (approve, decline, transient failure, 3-D Secure, refund), then reads back
 * everything the system wrote — the histories of every workflow on the server, not only its own — and scans it.
 */
let stack: StackClients;
let merchant: CreatedMerchant;
const receiver = new WebhookReceiver();

const CONTRACT_CARDS = [
  '4111111111111111', '4242424242424242', '5555555555554444', '4000000000000002', '4000000000009995',
  '4000000000000069', '4000000000000119', '4000000000003220', '4000008400001629', '6759649826438453',
];
const CARD_FIELD = /"(CardNumber|CardCVV|cardNumber|cvv|pan)"\s*:\s*"?\d/;

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
});
afterAll(async () => {
  await receiver.stop();
  await stack.close();
});

/** History payloads are base64 JSON: decode them, or a leak would hide in plain sight. */
function decodedHistory(history: unknown): string {
  return JSON.stringify(history, (key, value: unknown) => {
    if (key === 'data' && typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (key === 'data' && value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    return value;
  });
}

function expectNoCardData(where: string, text: string): void {
  for (const card of CONTRACT_CARDS) {
    if (text.includes(card)) throw new Error(`${where} contains the card number ${card}`);
  }
  if (CARD_FIELD.test(text)) throw new Error(`${where} contains a card field: ${CARD_FIELD.exec(text)![0]}`);
}

it('no card number or CVV in histories, projections, webhook bodies or logs', async () => {
  const callbackUrl = await receiver.start();
  const cardPaths = [
    ...CONTRACT_CARDS.filter((card) => !['4000000000003220', '4000008400001629', '6759649826438453'].includes(card)).map((card) => paymentBody({ CardNumber: card, CallbackUrl: callbackUrl })),
    paymentBody({ CardNumber: '4000000000003220', ReturnUrl: 'https://shop.example/return', CallbackUrl: callbackUrl }),
    paymentBody({ CardNumber: '6759649826438453', '3DS': 'yes', ReturnUrl: 'https://shop.example/return', CallbackUrl: callbackUrl }),
  ];
  const answers = await Promise.all(cardPaths.map((body) => post(stack.apiUrl, 'payment', merchant.testKey, body)));
  expect(answers.every((a) => a.body.Code === 0)).toBe(true);
  const captured = answers.find((a) => a.body.Result!.Status === 'captured')!;
  expect((await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: captured.body.Result!.Tid as string })).body.Code).toBe(0);
  for (const answer of answers) expectNoCardData('a payment answer', JSON.stringify(answer.body));
  await eventually('webhooks for the final payments', () => Promise.resolve(receiver.received.length >= 7 ? true : undefined));

  let histories = 0;
  let sawMaskedPan = false;
  for await (const execution of stack.temporal.workflow.list({ query: 'WorkflowType = "paymentWorkflow"' })) {
    const history = await stack.temporal.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    const text = decodedHistory(history);
    expectNoCardData(`the history of ${execution.workflowId}`, text);
    sawMaskedPan ||= text.includes('411111******1111');
    histories++;
  }
  expect(histories).toBeGreaterThanOrEqual(cardPaths.length);
  // Proof the decoding works: the masked form, which does belong in the input, is found.
  expect(sawMaskedPan).toBe(true);

  const projections = await stack.db.collection('payments').find({}).toArray();
  expect(projections.length).toBeGreaterThan(0);
  expectNoCardData('the projections', JSON.stringify(projections));
  for (const doc of projections) expect(doc.maskedPan).toMatch(/^\d{6}\*+\d{4}$/);
  expectNoCardData('the references', JSON.stringify(await stack.db.collection('references').find({}).toArray()));
  expectNoCardData('the webhook attempt log', JSON.stringify(await stack.db.collection('webhook_attempts').find({}).toArray()));
  // The vault holds card data only sealed (AES-GCM), and no CVV once authorization is over.
  expectNoCardData('the vault', JSON.stringify(await stack.db.collection('vault').find({}).toArray()));

  for (const hook of receiver.received) expectNoCardData('a webhook body', hook.rawBody);

  const logDir = path.join(stack.config.dataDir, 'logs');
  for (const file of readdirSync(logDir)) expectNoCardData(`log ${file}`, readFileSync(path.join(logDir, file), 'utf8'));
}, 120_000);
