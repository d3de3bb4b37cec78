import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sweepEndedSessions } from '../../src/auth/dashboard-sessions';
import { dashboardSessions } from '../../src/store/dashboard-sessions';
import { dashboardUsers } from '../../src/store/dashboard-users';
import { settleflowJson, settleflowWithStdin } from '../support/cli';
import { DashboardBrowser, newDashboardUser, PASSWORD } from '../support/dashboard';
import { useStackWithMerchant } from '../support/factories';

/** docs/dashboard-api.md, "Users and sign-in" and "Sessions", through the running API. */
const shop = useStackWithMerchant();
const browser = () => new DashboardBrowser(shop.stack.apiUrl);
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

it('signs in with a session cookie (HttpOnly, SameSite=Strict, Path=/dashboard), answers who is signed in, signs out', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const b = browser();
  const res = await b.signIn(email.toUpperCase());
  expect(res.status).toBe(200);
  expect(res.body).toEqual({
    user: {
      email,
      role: 'admin',
      merchantId: shop.merchant.merchantId,
      merchantName: expect.any(String),
      modes: ['test'],
    },
    csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/),
  });
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sf_session='))!;
  expect(cookie).toMatch(/; Path=\/dashboard/);
  expect(cookie).toMatch(/; HttpOnly/);
  expect(cookie).toMatch(/; SameSite=Strict/);
  // PUBLIC_BASE_URL is http in tests: a Secure cookie would never come back.
  expect(cookie).not.toMatch(/Secure/);
  // The token is stored as a hash only.
  expect(await shop.stack.db.collection('dashboard_sessions').findOne({ _id: b.cookie as never })).toBeNull();

  expect((await b.call('GET', '/session')).body).toMatchObject({ user: { email }, csrfToken: b.csrfToken });
  expect((await b.call('DELETE', '/session')).status).toBe(204);
  expect(b.cookie).toBeUndefined();
  expect((await b.call('GET', '/session')).body).toEqual({
    error: { code: 'unauthenticated', message: expect.any(String) },
  });
});

it('answers a wrong password and an unknown email the same way; bad bodies are 400 with the JSON error shape', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const wrong = await browser().signIn(email, 'not the password at all');
  const unknown = await browser().signIn(`nobody-${randomUUID()}@shop.example`);
  expect(wrong.status).toBe(401);
  expect(unknown.status).toBe(401);
  expect(wrong.body).toEqual(unknown.body);

  const b = browser();
  for (const [raw, type] of [
    ['{not json', 'application/json'],
    ['[1,2]', 'application/json'],
    ['email=a&password=b', 'application/x-www-form-urlencoded'],
    [JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(20_000) }), 'application/json'],
    [JSON.stringify({ email: 42, password: null }), 'application/json'],
  ]) {
    const res = await b.call('POST', '/session', undefined, { rawBody: raw, contentType: type });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'invalid_request', message: expect.any(String) } });
  }
  expect((await b.call('GET', '/no/such/thing')).status).toBe(404);
  expect((await b.call('GET', '/no/such/thing')).body).toMatchObject({ error: { code: 'not_found' } });
});

it('locks an email out after 5 wrong passwords, even the right one is then refused (429); unknown emails alike', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  for (let i = 0; i < 5; i++) expect((await browser().signIn(email, `wrong password ${i}`)).status).toBe(401);
  const locked = await browser().signIn(email);
  expect(locked.status).toBe(429);
  expect(locked.body).toMatchObject({ error: { code: 'too_many_attempts' } });
  const stored = await dashboardUsers(shop.stack.db).findOne({ _id: email });
  expect(stored!.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 14 * 60_000);

  const nobody = `nobody-${randomUUID()}@shop.example`;
  for (let i = 0; i < 5; i++) expect((await browser().signIn(nobody, 'whatever it is')).status).toBe(401);
  expect((await browser().signIn(nobody)).status).toBe(429);
});

it('refuses a POST or DELETE without the CSRF token, or with a wrong one (403 csrf)', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const b = browser();
  await b.signIn(email);
  for (const csrf of [null, 'wrong', `${b.csrfToken}x`, b.csrfToken!.slice(0, -1)]) {
    for (const [method, path] of [
      ['DELETE', '/session'],
      ['POST', '/session/sign-out-everywhere'],
      ['POST', '/test/keys'],
      ['POST', '/webhook-secret/rotate'],
      ['POST', '/test/webhook-test'],
      ['POST', '/test/payments/any/refund'],
    ] as const) {
      const res = await b.call(method, path, {}, { csrf });
      expect([method, path, res.status, res.body]).toEqual([
        method,
        path,
        403,
        { error: expect.objectContaining({ code: 'csrf' }) },
      ]);
    }
  }
  // Still signed in: nothing above did anything.
  expect((await b.call('GET', '/session')).status).toBe(200);
});

it('session fixation: a cookie held before sign-in is never the one after, and a planted one opens nothing', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const b = browser();
  const planted = randomBytes(32).toString('base64url');
  b.cookie = planted;
  await b.signIn(email);
  expect(b.cookie).toBeDefined();
  expect(b.cookie).not.toBe(planted);
  const attacker = browser();
  attacker.cookie = planted;
  expect((await attacker.call('GET', '/session')).status).toBe(401);

  // Signing in again with a live session mints a new one and ends the old.
  const first = b.cookie;
  await b.signIn(email);
  expect(b.cookie).not.toBe(first);
  const old = browser();
  old.cookie = first;
  expect((await old.call('GET', '/session')).status).toBe(401);
  expect((await b.call('GET', '/session')).status).toBe(200);
});

it('a session ends after 30 idle minutes, and after 12 hours whatever the activity', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const sessions = dashboardSessions(shop.stack.db);
  const idle = browser();
  await idle.signIn(email);
  const busy = browser();
  await busy.signIn(email);
  expect((await idle.call('GET', '/session')).status).toBe(200);
  // Time passes (the stored clocks moved back, as time would).
  await sessions.updateOne(
    { userId: email, _id: { $ne: hashOf(busy.cookie!) } },
    { $set: { lastSeenAt: new Date(Date.now() - 31 * 60_000) } },
  );
  await sessions.updateOne({ _id: hashOf(busy.cookie!) }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
  expect((await idle.call('GET', '/session')).status).toBe(401);
  expect((await busy.call('GET', '/session')).status).toBe(401);
  // Ended sessions are removed when seen.
  expect(await sessions.countDocuments({ userId: email })).toBe(0);
});

it('the worker-side sweep deletes ended sessions never presented again, and keeps live ones', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const sessions = dashboardSessions(shop.stack.db);
  const [idle, over, live] = [browser(), browser(), browser()];
  for (const b of [idle, over, live]) await b.signIn(email);
  await sessions.updateOne({ _id: hashOf(idle.cookie!) }, { $set: { lastSeenAt: new Date(Date.now() - 31 * 60_000) } });
  await sessions.updateOne({ _id: hashOf(over.cookie!) }, { $set: { expiresAt: new Date(Date.now() - 1000) } });

  expect(await sweepEndedSessions(shop.stack.db)).toBeGreaterThanOrEqual(2);
  expect((await sessions.find({ userId: email }).toArray()).map((s) => s._id)).toEqual([hashOf(live.cookie!)]);
  expect((await live.call('GET', '/session')).status).toBe(200);
});

it("a merchant without live mode has no /live pages: 404, and the session's modes say so", async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const b = browser();
  await b.signIn(email);
  expect((await b.call('GET', '/session')).body).toMatchObject({ user: { modes: ['test'] } });
  for (const path of ['/live/payments', '/live/overview', '/live/developers'])
    expect(await b.call('GET', path)).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  expect((await b.call('GET', '/test/payments')).status).toBe(200);
});

it('sign out everywhere ends every session of the user', async () => {
  const email = await newDashboardUser(shop.stack.db, shop.merchant.merchantId);
  const laptop = browser();
  const phone = browser();
  await laptop.signIn(email);
  await phone.signIn(email);
  expect((await laptop.call('POST', '/session/sign-out-everywhere')).status).toBe(204);
  expect((await laptop.call('GET', '/session')).status).toBe(401);
  expect((await phone.call('GET', '/session')).status).toBe(401);
  // A new sign-in works.
  expect((await browser().signIn(email)).status).toBe(200);
});

it('user create prints a one-time set-password link (24 h, single use); --password-stdin takes it from stdin', async () => {
  const email = `cli-${randomUUID().slice(0, 8)}@shop.example`;
  const created = await settleflowJson<{ setPasswordLink: string; email: string; role: string }>(
    'user',
    'create',
    '--merchant',
    shop.merchant.merchantId,
    '--email',
    email,
    '--role',
    'viewer',
  );
  expect(created).toMatchObject({ email, role: 'viewer' });
  const link = new URL(created.setPasswordLink);
  expect(`${link.origin}${link.pathname}`).toBe(`${shop.stack.config.publicBaseUrl}/dashboard/set-password`);
  const token = /^#token=([A-Za-z0-9_-]+)$/.exec(link.hash)![1]!;
  // Only the token's hash is stored.
  expect(JSON.stringify(await shop.stack.db.collection('dashboard_password_tokens').find({}).toArray())).not.toContain(
    token,
  );

  const b = browser();
  expect((await b.signIn(email, PASSWORD)).status).toBe(401);
  expect((await b.call('POST', '/password', { token, password: 'short' })).status).toBe(400);
  expect((await b.call('POST', '/password', { token, password: PASSWORD })).status).toBe(204);
  expect((await b.call('POST', '/password', { token, password: PASSWORD })).status).toBe(400);
  expect((await b.signIn(email, PASSWORD)).body).toMatchObject({ user: { email, role: 'viewer' } });

  const listed = await settleflowJson<{ users: { email: string; role: string; passwordSet: boolean }[] }>(
    'user',
    'list',
    '--merchant',
    shop.merchant.merchantId,
  );
  expect(listed.users).toContainEqual(expect.objectContaining({ email, role: 'viewer', passwordSet: true }));

  // Disabled: the session ends and no sign-in works.
  await settleflowJson('user', 'disable', email);
  expect((await b.call('GET', '/session')).status).toBe(401);
  expect((await browser().signIn(email, PASSWORD)).status).toBe(401);

  const piped = `stdin-${randomUUID().slice(0, 8)}@shop.example`;
  const { code, stdout } = await settleflowWithStdin(
    `${PASSWORD}\n`,
    'user',
    'create',
    '--merchant',
    shop.merchant.merchantId,
    '--email',
    piped,
    '--password-stdin',
    '--json',
  );
  expect(code).toBe(0);
  expect(JSON.parse(stdout)).toMatchObject({ email: piped, setPasswordLink: null });
  expect((await browser().signIn(piped, PASSWORD)).status).toBe(200);
});
