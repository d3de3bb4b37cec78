import type { Browser } from 'playwright-core';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { launchChromium } from '../support/chromium';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { ReturnReceiver } from '../support/return-receiver';
import { signatureMatches } from '../support/signature';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * The cardholder's journey in a real headless Chromium (Debian's package, installed by .ci/run; never a browser
 * download): open the 3DSecureUrl, click, land back on the merchant's ReturnUrl with the posted fields, and the
 * merchant learns the outcome by status and by a signed webhook.
 */
let stack: StackClients;
let merchant: CreatedMerchant;
let browser: Browser;
const webhooks = new WebhookReceiver();
const shop = new ReturnReceiver();
let callbackUrl: string;
let returnUrl: string;

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
  [callbackUrl, returnUrl] = await Promise.all([webhooks.start(), shop.start()]);
  browser = await launchChromium();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await Promise.all([webhooks.stop(), shop.stop()]);
  await stack.close();
});

it.each([
  {
    name: 'a card that demands 3DS, completed',
    card: '4000000000003220',
    threeDS: 'no',
    click: 'Complete authentication',
    status: 'captured',
    event: 'PAYMENT_CAPTURED',
  },
  {
    name: 'a card that demands 3DS, failed',
    card: '4000000000003220',
    threeDS: 'no',
    click: 'Fail authentication',
    status: 'rejected_pw',
    event: 'PAYMENT_REJECTED',
  },
  {
    name: 'Maestro with 3DS=yes, completed',
    card: '6759649826438453',
    threeDS: 'yes',
    click: 'Complete authentication',
    status: 'captured',
    event: 'PAYMENT_CAPTURED',
  },
  {
    name: 'authenticated, then declined at authorization',
    card: '4000008400001629',
    threeDS: 'no',
    click: 'Complete authentication',
    status: 'failed',
    event: 'PAYMENT_FAILED',
  },
])(
  '$name → $status',
  async ({ card, threeDS, click, status, event }) => {
    const body = paymentBody({ CardNumber: card, '3DS': threeDS, ReturnUrl: returnUrl, CallbackUrl: callbackUrl });
    const answer = await post(stack.apiUrl, 'payment', merchant.testKey, body);
    expect(answer.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
    const result = answer.body.Result as { Reference: string; '3DSecureUrl': string };

    const page = await browser.newPage();
    try {
      await page.goto(result['3DSecureUrl']);
      expect(await page.textContent('main')).toContain(`${card.slice(0, 6)}******${card.slice(-4)}`);
      await Promise.all([page.waitForURL(returnUrl), page.click(`text=${click}`)]);
      expect(await page.textContent('#thanks')).toBe('Back at the shop');
    } finally {
      await page.close();
    }

    const posted = shop.posts.find((p) => p.Tid === body.Tid);
    expect(posted).toEqual({
      Tid: body.Tid,
      Reference: result.Reference,
      Status: status,
      Amount: '12.34',
      Date: expect.stringMatching(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/),
      Message: expect.any(String),
      UserId: 'customer-42',
      OperationType: 'payment',
      '3DSecure': 'yes',
    });
    expect(JSON.stringify(posted)).not.toContain(card);

    expect(
      (await post(stack.apiUrl, 'status', merchant.testKey, { Reference: result.Reference })).body.Result,
    ).toMatchObject({ Status: status });
    const [hook] = await eventually('the webhook', () =>
      Promise.resolve(webhooks.forTid(body.Tid!).length ? webhooks.forTid(body.Tid!) : undefined),
    );
    expect(hook!.headers['x-settleflow-event']).toBe(event);
    expect(
      signatureMatches(String(hook!.headers['x-settleflow-signature']), hook!.rawBody, merchant.webhookSecret),
    ).toBe(true);
  },
  60_000,
);

it('with scripts off, the return page still gets the customer back with a visible button', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const body = paymentBody({ '3DS': 'yes', ReturnUrl: returnUrl });
  const answer = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  const page = await context.newPage();
  try {
    await page.goto(answer.body.Result!['3DSecureUrl'] as string);
    await page.click('text=Complete authentication');
    await Promise.all([page.waitForURL(returnUrl), page.click('text=Return to the merchant')]);
  } finally {
    await context.close();
  }
  expect(shop.posts.find((p) => p.Tid === body.Tid)).toMatchObject({ Status: 'captured' });
}, 60_000);
