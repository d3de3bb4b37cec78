import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { launchChromium } from '../support/chromium';
import { settleflowWithStdin } from '../support/cli';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { DashboardBrowser } from '../support/dashboard';
import { connectToStack, type StackClients } from '../support/stack-client';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * The merchant dashboard in a real headless Chromium (Debian's package, as for the 3-D Secure journeys): an admin
 * signs in, finds a payment by Tid, resends its webhook, refunds it and sees the refund in the list and in
 * /v1/status/direct; rotates the API key and pays with the new one; a viewer is refused a refund; CSRF and session
 * fixation attempts fail; axe-core finds no serious or critical accessibility violation on any page
 * (docs/dashboard.md). With DASHBOARD_SCREENSHOTS=1 the run also writes the screenshots of docs/dashboard/.
 */
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = process.env.DASHBOARD_SCREENSHOTS === '1';
const SCREENSHOT_DIR = path.join(__dirname, '..', '..', 'docs', 'dashboard');
const COOKIE = 'sf_session';

let stack: StackClients;
let merchant: CreatedMerchant;
let browser: Browser;
const webhooks = new WebhookReceiver();
let callbackUrl: string;
const admin = { email: `admin-${randomUUID().slice(0, 8)}@shop.example`, password: `Admin ${randomUUID()}` };
const viewer = { email: `viewer-${randomUUID().slice(0, 8)}@shop.example`, password: `Viewer ${randomUUID()}` };
/** The payment the admin's journey refunds, and one that stays unrefunded for the refusals. */
let refunded: Record<string, string>;
let untouched: Record<string, string>;

/** `settleflow user create … --password-stdin`: the password goes in on stdin, never on the command line. */
async function createUser(email: string, role: 'admin' | 'viewer', password: string): Promise<void> {
  const { code, stderr } = await settleflowWithStdin(
    `${password}\n`,
    'user',
    'create',
    '--merchant',
    merchant.merchantId,
    '--email',
    email,
    '--role',
    role,
    '--password-stdin',
  );
  if (code !== 0) throw new Error(`user create exited ${code}: ${stderr}`);
}

async function pay(overrides: Record<string, string> = {}, key = merchant.testKey) {
  const body = paymentBody({ CallbackUrl: callbackUrl, ...overrides });
  const answer = await post(stack.apiUrl, 'payment', key, body);
  expect(answer.body.Code).toBe(0);
  return body;
}

beforeAll(async () => {
  // The browser first: without Chromium, launchChromium throws before the stack is connected to.
  [browser, stack] = await Promise.all([launchChromium(), connectToStack()]);
}, 60_000);

/** A merchant with an admin and a viewer, and a few payments of every kind (what a merchant's day looks like). */
async function setUpMerchant(): Promise<void> {
  merchant = await newMerchant(stack, { name: 'Demo Shop', live: true });
  callbackUrl = await webhooks.start();
  await Promise.all([
    createUser(admin.email, 'admin', admin.password),
    createUser(viewer.email, 'viewer', viewer.password),
  ]);
  refunded = await pay({ Amount: '1234', Uid: 'customer-42' });
  untouched = await pay({ Amount: '4999', Uid: 'customer-7' });
  await pay({ Amount: '2500', Uid: 'customer-9', CardNumber: '5555555555554444' });
  await pay({ Amount: '1800', Uid: 'customer-3', CardNumber: '4000000000009995' });
  await pay({ Amount: '990', Uid: 'customer-5', CardNumber: '4000000000000002' });
  await pay({
    Amount: '7400',
    Uid: 'customer-8',
    CardNumber: '4000000000003220',
    ReturnUrl: 'https://shop.example/back',
  });
  // Resending needs the first delivery to have happened.
  await eventually('the PAYMENT_CAPTURED webhook', () =>
    Promise.resolve(webhooks.forTid(refunded.Tid!).length ? true : undefined),
  );
}

afterAll(async () => {
  await browser?.close();
  if (callbackUrl) await webhooks.stop();
  await stack?.close();
});

const dashboard = (p = '') => `${stack.apiUrl}/dashboard${p}`;

/** axe-core in the page (evaluated through the DevTools protocol, so the page's CSP stays as it is). */
async function expectAccessible(page: Page, name: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    // Runs in the page: the whole document, only the failures reported.
    const axe = (globalThis as unknown as { axe: typeof import('axe-core') }).axe;
    const result = await axe.run({ resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 3),
    }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect({ page: name, serious }).toEqual({ page: name, serious: [] });
}

async function screenshot(page: Page, file: string): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, file), fullPage: true });
}

async function newPage(): Promise<{ context: BrowserContext; page: Page; cspErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  const page = await context.newPage();
  const cspErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text())) cspErrors.push(m.text());
  });
  return { context, page, cspErrors };
}

async function signIn(page: Page, who: { email: string; password: string }): Promise<void> {
  await page.goto(dashboard('/sign-in'));
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await Promise.all([
    page.waitForURL(/\/dashboard\/test\/payments/),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

async function sessionCookie(context: BrowserContext): Promise<string | undefined> {
  return (await context.cookies()).find((c) => c.name === COOKIE)?.value;
}

/** The dashboard API as a script (or an attacker) calls it, with a given cookie and CSRF header. */
async function dashboardApi(method: string, p: string, cookie: string | undefined, csrf?: string) {
  const api = new DashboardBrowser(stack.apiUrl);
  api.cookie = cookie;
  return api.call<{ error?: { code: string } } & Record<string, unknown>>(
    method,
    p,
    method === 'GET' ? undefined : {},
    { csrf: csrf ?? null },
  );
}

async function statusOf(tid: string) {
  return (await post(stack.apiUrl, 'status', merchant.testKey, { Tid: tid })).body;
}

describe('before sign-in', () => {
  it('the sign-in page passes axe, with its CSP and no inline script', async () => {
    const { context, page, cspErrors } = await newPage();
    try {
      const res = await page.goto(dashboard('/test/payments'));
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");
      await page.waitForURL(/\/dashboard\/sign-in/);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toContain('Sign in');
      await expectAccessible(page, 'sign-in');
      expect(cspErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('the set-password page without a token says what to do, and passes axe', async () => {
    const { context, page, cspErrors } = await newPage();
    try {
      await page.goto(dashboard('/set-password'));
      await page.getByRole('heading', { name: 'Set your password' }).waitFor();
      expect(await page.getByRole('alert').textContent()).toContain('no token');
      await expectAccessible(page, 'set-password');
      expect(cspErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});

describe('signed in', () => {
  beforeAll(setUpMerchant, 120_000);

  it('a wrong password is refused with the same words as an unknown email', async () => {
    const { context, page } = await newPage();
    try {
      const messages: string[] = [];
      for (const email of [admin.email, `nobody-${randomUUID().slice(0, 6)}@shop.example`]) {
        await page.goto(dashboard('/sign-in'));
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill('not the password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        messages.push((await page.getByRole('alert').textContent()) ?? '');
      }
      expect(messages[0]).toBe(messages[1]);
      expect(page.url()).toContain('/dashboard/sign-in');
    } finally {
      await context.close();
    }
  });

  it('a session cookie planted before sign-in is never promoted (session fixation)', async () => {
    const { context, page } = await newPage();
    try {
      const planted = `planted-${randomUUID()}`;
      const domain = new URL(stack.apiUrl).hostname;
      await context.addCookies([{ name: COOKIE, value: planted, domain, path: '/dashboard' }]);
      await signIn(page, admin);
      const issued = await sessionCookie(context);
      expect(issued).toBeDefined();
      expect(issued).not.toBe(planted);
      expect((await dashboardApi('GET', '/session', planted)).status).toBe(401);
      expect((await dashboardApi('GET', '/session', issued)).status).toBe(200);
    } finally {
      await context.close();
    }
  });

  it('an admin finds a payment by Tid, resends its webhook, refunds it, and sees the refund in the list and in /v1/status', async () => {
    const { context, page, cspErrors } = await newPage();
    try {
      await signIn(page, admin);
      await expect(page.locator('.sandbox-bar').textContent()).resolves.toBe('Sandbox — test data');
      await page.getByRole('table').waitFor();
      await expectAccessible(page, 'payments');
      await screenshot(page, 'payments.png');

      await page.getByLabel('Search by Tid, Reference or Uid').fill(refunded.Tid!);
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForURL((url) => url.searchParams.get('q') === refunded.Tid);
      const link = page.getByRole('link', { name: refunded.Tid! });
      await link.waitFor();
      expect(await page.locator('table.payments tbody tr').count()).toBe(1);
      await link.click();
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      expect(await page.locator('.summary').textContent()).toContain('411111******1111');
      await expectAccessible(page, 'payment');

      const before = webhooks.forTid(refunded.Tid!).length;
      await page.getByRole('button', { name: /^Resend PAYMENT_CAPTURED/ }).click();
      await page.getByText(/^Resent: HTTP 200/).waitFor();
      await eventually('the resent webhook', () =>
        Promise.resolve(webhooks.forTid(refunded.Tid!).length > before ? true : undefined),
      );

      await page.getByRole('button', { name: /^Refund / }).click();
      const dialog = page.getByRole('dialog');
      await dialog.waitFor();
      await expectAccessible(page, 'refund confirmation');
      await dialog.getByRole('button', { name: 'Refund' }).click();
      await page.getByText(/^Refund ref_/).waitFor();
      await page.getByText('Refunded', { exact: false }).first().waitFor();
      await screenshot(page, 'payment.png');

      const status = await statusOf(refunded.Tid!);
      expect(status).toMatchObject({ Code: 0, Result: { OperationType: 'refund', Status: 'captured' } });

      await page.getByRole('link', { name: 'Payments', exact: true }).first().click();
      await page.getByLabel('Search by Tid, Reference or Uid').fill(refunded.Tid!);
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.locator('table.payments tbody tr', { hasText: refunded.Tid! }).getByText('Refunded').waitFor();

      await page.getByRole('link', { name: 'Overview' }).click();
      await page.locator('canvas').first().waitFor();
      await page.getByRole('heading', { name: 'Approval rate' }).waitFor();
      await expectAccessible(page, 'overview');
      await screenshot(page, 'overview.png');

      await page.getByRole('link', { name: 'Live' }).click();
      await page.waitForURL(/\/dashboard\/live\/overview/);
      expect(await page.locator('.sandbox-bar').count()).toBe(0);
      await expectAccessible(page, 'overview (live)');
      expect(cspErrors).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);

  it('an admin rotates the API key, sees it once, and pays with it', async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, admin);
      await page.getByRole('link', { name: 'Developers' }).click();
      await page.getByRole('button', { name: 'Rotate API key' }).waitFor();
      await expectAccessible(page, 'developers');
      await page.getByRole('button', { name: 'Rotate API key' }).click();
      const shown = page.locator('.shown-once input');
      await shown.waitFor();
      const key = await shown.inputValue();
      expect(key).not.toBe(merchant.testKey);
      await expectAccessible(page, 'developers, new key shown');

      const body = await pay({}, key);
      expect((await statusOf(body.Tid!)).Result).toMatchObject({ Status: 'captured' });
      // The key is shown once: the page after a reload lists it by id only.
      await page.reload();
      await page.getByRole('button', { name: 'Rotate API key' }).waitFor();
      expect(await page.content()).not.toContain(key);
    } finally {
      await context.close();
    }
  }, 60_000);

  it('a viewer sees no refund button and the server refuses the refund anyway', async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, viewer);
      await page.goto(dashboard(`/test/payments/${encodeURIComponent(untouched.Tid!)}`));
      await page.getByRole('heading', { name: 'Timeline' }).waitFor();
      expect(await page.getByRole('button', { name: /^Refund/ }).count()).toBe(0);
      expect(await page.getByRole('button', { name: /^Resend/ }).count()).toBe(0);
      await expectAccessible(page, 'payment (viewer)');

      const cookie = await sessionCookie(context);
      const { body } = await dashboardApi('GET', '/session', cookie);
      const refused = await dashboardApi(
        'POST',
        `/test/payments/${encodeURIComponent(untouched.Tid!)}/refund`,
        cookie,
        body.csrfToken as string,
      );
      expect(refused.status).toBe(403);
      expect(refused.body.error?.code).toBe('forbidden');
      expect((await statusOf(untouched.Tid!)).Result).toMatchObject({ OperationType: 'payment', Status: 'captured' });
    } finally {
      await context.close();
    }
  });

  it('a change without the session’s CSRF token is refused (missing, wrong, or another session’s)', async () => {
    const admins = await newPage();
    const viewers = await newPage();
    try {
      await signIn(admins.page, admin);
      await signIn(viewers.page, viewer);
      const cookie = await sessionCookie(admins.context);
      const viewerCookie = await sessionCookie(viewers.context);
      const viewerToken = (await dashboardApi('GET', '/session', viewerCookie)).body.csrfToken as string;
      const refund = `/test/payments/${encodeURIComponent(untouched.Tid!)}/refund`;
      for (const csrf of [undefined, '', 'not-the-token', viewerToken]) {
        const answer = await dashboardApi('POST', refund, cookie, csrf);
        expect({ csrf, status: answer.status, code: answer.body.error?.code }).toEqual({
          csrf,
          status: 403,
          code: 'csrf',
        });
      }
      expect((await dashboardApi('POST', '/test/keys', cookie)).status).toBe(403);
      expect((await statusOf(untouched.Tid!)).Result).toMatchObject({ OperationType: 'payment', Status: 'captured' });
    } finally {
      await admins.context.close();
      await viewers.context.close();
    }
  });

  it('signing out ends the session on the server', async () => {
    const { context, page } = await newPage();
    try {
      await signIn(page, admin);
      const cookie = await sessionCookie(context);
      await Promise.all([
        page.waitForURL(/\/dashboard\/sign-in/),
        page.getByRole('button', { name: 'Sign out', exact: true }).click(),
      ]);
      expect((await dashboardApi('GET', '/session', cookie)).status).toBe(401);
      // A page of the dashboard now leads back to sign-in.
      await page.goto(dashboard('/test/payments'));
      await page.waitForURL(/\/dashboard\/sign-in/);
    } finally {
      await context.close();
    }
  });
});
