import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { paymentWorkflowId } from '../../workflows/vocabulary';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { launchChromium } from '../support/chromium';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { PAYMENT_SPANS_EXPORTED_AT_ONCE, RUN_WORKFLOW_SPAN } from '../support/observability';
import { type PrivateStack, startPrivateStack } from '../support/private-stack';

/**
 * The trace viewer that the stack's Jaeger serves (docs/tracing.md), in a real headless Chromium: a payment's
 * trace found by its Tid and by its workflow id, its waterfall holding the spans of both processes, and the
 * placeholder for the workflow's own span, which arrives only when the workflow closes at the end of its refund
 * window. A stack of the file's own, as Jaeger runs only when asked.
 */

jest.setTimeout(240_000);

let stack: PrivateStack;
/** The default refund window (months): the workflow is still running while the test looks. */
let openMerchant: CreatedMerchant;
/** A refund window of two seconds: the workflow closes, and its span arrives, within the test. */
let closingMerchant: CreatedMerchant;
let browser: Browser;
const receiver = new WebhookReceiver();
let callbackUrl: string;

beforeAll(async () => {
  // Spans leave each process within a fifth of a second, not the batch processor's default five.
  stack = await startPrivateStack({ OTEL_BSP_SCHEDULE_DELAY: '200' }, { jaeger: true });
  [openMerchant, closingMerchant] = await Promise.all([
    newMerchant(stack),
    newMerchant(stack, { refundWindowMs: 2_000 }),
  ]);
  callbackUrl = await receiver.start();
  browser = await launchChromium();
}, 240_000);
afterAll(async () => {
  await browser?.close();
  await receiver.stop();
  await stack?.close();
});

const viewer = () => stack.stack.jaeger!.uiUrl;

/** A captured payment whose webhook was delivered: every span of its trace but the workflow's has ended. */
async function capturedPayment(merchant: CreatedMerchant): Promise<string> {
  const body = paymentBody({ CallbackUrl: callbackUrl });
  const answer = await post(stack.apiUrl, 'payment', merchant.testKey, body);
  expect(answer.body).toMatchObject({ Code: 0, Result: { Status: 'captured' } });
  await eventually('the webhook', () => Promise.resolve(receiver.forTid(body.Tid!).length > 0 ? true : undefined));
  return body.Tid!;
}

/** Searches the viewer for `query` until one trace is listed (spans reach Jaeger a moment after they end). */
async function findOne(page: Page, query: string): Promise<void> {
  await page.goto(`${viewer()}/`);
  await page.waitForSelector('#service option[value="settleflow-api"]', { state: 'attached' });
  await eventually(
    `one trace listed for ${query}`,
    async () => {
      await page.fill('#q', query);
      await page.click('button[type=submit]');
      await page.locator('#status', { hasNotText: /^Searching/ }).waitFor();
      return (await page.locator('#traces tr').count()) === 1 ? true : undefined;
    },
    30_000,
  );
}

/** The waterfall's rows (span name, service), reloading the open trace until `done` says it is complete. */
async function waterfallUntil(
  page: Page,
  done: (rows: { name: string; service: string }[]) => boolean,
): Promise<{ name: string; service: string }[]> {
  return eventually(
    'the waterfall',
    async () => {
      await page.reload();
      await page.waitForSelector('#waterfall .row.span');
      const names = await page.locator('#waterfall .row.span .name').allTextContents();
      const services = await page.locator('#waterfall .row.span .service').allTextContents();
      const rows = names.map((name, i) => ({ name: name.replace(/^⚠ /, ''), service: services[i]! }));
      return done(rows) ? rows : undefined;
    },
    60_000,
  );
}

const has = (rows: { name: string }[], pattern: RegExp) => rows.some((row) => pattern.test(row.name));

it('finds a running payment by its Tid and shows its spans under a placeholder for the open workflow span', async () => {
  const tid = await capturedPayment(openMerchant);
  const page = await browser.newPage();
  try {
    await findOne(page, tid);
    expect(await page.textContent('#traces tr')).toContain('POST /v1/payment/direct');
    await page.click('#traces tr a');
    const rows = await waterfallUntil(page, (r) => PAYMENT_SPANS_EXPORTED_AT_ONCE.every((name) => has(r, name)));
    expect(new Set(rows.map((r) => r.service))).toEqual(new Set(['settleflow-api', 'settleflow-worker']));
    expect(has(rows, /^RunWorkflow:/)).toBe(false);

    // The workflow's children hang under a labelled row of their own, not at the root nor dropped.
    const placeholder = page.locator('#waterfall .row.placeholder');
    await expect(placeholder.count()).resolves.toBe(1);
    expect(await placeholder.textContent()).toMatch(
      /RunWorkflow:paymentWorkflowV2 span not received yet: the workflow payment-test-.* is still running/,
    );
    const rowsInOrder = page.locator('#waterfall .row[data-depth]');
    const order: { name: string; depth: number }[] = [];
    for (let i = 0; i < (await rowsInOrder.count()); i++)
      order.push({
        name: (await rowsInOrder.nth(i).locator('.name').textContent())!,
        depth: Number(await rowsInOrder.nth(i).getAttribute('data-depth')),
      });
    // Its subtree: the rows after it, up to the next one at its depth.
    const at = order.findIndex((r) => r.name.startsWith('RunWorkflow:paymentWorkflowV2 span not received'));
    const end = order.findIndex((r, i) => i > at && r.depth <= order[at]!.depth);
    const subtree = order.slice(at + 1, end === -1 ? undefined : end).map((r) => r.name);
    for (const name of ['StartActivity:authorizePayment', 'processor authorize', 'webhook deliver'])
      expect(subtree).toContain(name);

    // A span's attributes, on a click.
    await page.click('#waterfall .row.span:has-text("processor authorize")');
    const detail = await page.textContent('#detail');
    expect(detail).toContain('settleflow.processor.outcome');
    expect(detail).toContain('approved');
  } finally {
    await page.close();
  }
});

it('finds a payment by its workflow id; once the workflow closes, its span takes the placeholder’s place', async () => {
  const tid = await capturedPayment(closingMerchant);
  const page = await browser.newPage();
  try {
    await findOne(page, paymentWorkflowId('test', closingMerchant.merchantId, tid));
    await page.click('#traces tr a');
    const rows = await waterfallUntil(page, (r) => has(r, RUN_WORKFLOW_SPAN));
    for (const name of PAYMENT_SPANS_EXPORTED_AT_ONCE) expect(has(rows, name)).toBe(true);
    expect(await page.locator('#waterfall .row.placeholder').count()).toBe(0);
  } finally {
    await page.close();
  }
});

it('shows span names and attributes as text, never as markup', async () => {
  const traceId = 'feedfacefeedfacefeedfacefeedface';
  const markup = '<img src=x onerror="window.__injected=1"><b>bold</b>';
  const span = (spanID: string, operationName: string, parent?: string) => ({
    traceID: traceId,
    spanID,
    operationName,
    references: parent ? [{ refType: 'CHILD_OF', traceID: traceId, spanID: parent }] : [],
    startTime: 1_700_000_000_000_000,
    duration: 1_000,
    tags: [{ key: markup, type: 'string', value: markup }],
    logs: [{ timestamp: 1_700_000_000_000_500, fields: [{ key: 'event', type: 'string', value: markup }] }],
    processID: 'p1',
  });
  const page = await browser.newPage();
  try {
    // A trace of this test's making, as if Jaeger had answered it: one span, and one whose parent is missing.
    await page.route(`**/api/traces/${traceId}`, (route) =>
      route.fulfill({
        contentType: 'application/json',
        body: JSON.stringify({
          data: [
            {
              traceID: traceId,
              spans: [span('00000000000000a1', markup), span('00000000000000a2', 'child', '00000000000000ff')],
              processes: { p1: { serviceName: markup, tags: [] } },
            },
          ],
        }),
      }),
    );
    await page.goto(`${viewer()}/#trace=${traceId}`);
    await page.click(`#waterfall .row.span[data-span-id="00000000000000a1"]`);
    expect(await page.textContent('#waterfall')).toContain(markup);
    expect(await page.textContent('#detail')).toContain(markup);
    expect(await page.locator('main img, main b').count()).toBe(0);
    expect(await page.evaluate('window.__injected')).toBeUndefined();
    expect(await page.textContent('#waterfall .row.placeholder')).toContain('Span 00000000000000ff not received');
  } finally {
    await page.close();
  }
});

it('Jaeger serves the viewer without tracing itself to an OTLP receiver of its own (docs/tracing.md)', () => {
  // The extension's own tracing, were it on, would have dialled localhost:4317 every few seconds by now.
  const log = readFileSync(path.join(stack.config.dataDir, 'logs', 'jaeger.log'), 'utf8');
  expect(log).not.toContain(':4317');
});
