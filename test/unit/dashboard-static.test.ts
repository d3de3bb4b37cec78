import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Server } from 'node:http';
import Koa from 'koa';
import { dashboardStatic } from '../../src/http/dashboard/static';
import { securityHeaders } from '../../src/http/security-headers';

/**
 * The dashboard's static serving on a built app of its own (an index.html and one hashed asset), behind the same
 * security headers as the API: assets cached for good, index.html for every other /dashboard path and never
 * cached, the API's paths passed on, and the dashboard's Content-Security-Policy on its pages.
 */
let root: string;
let server: Server;
let base: string;
const INDEX =
  '<!doctype html><title>SettleFlow dashboard</title><script type="module" src="/dashboard/assets/index-Ab12.js"></script>';

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'dashboard-ui-'));
  mkdirSync(path.join(root, 'assets'));
  writeFileSync(path.join(root, 'index.html'), INDEX);
  writeFileSync(path.join(root, 'assets', 'index-Ab12.js'), 'console.log("app");');
  writeFileSync(path.join(root, 'assets', 'index-Cd34.css'), 'body{margin:0}');
  const app = new Koa();
  app.silent = true;
  app.use(securityHeaders({ publicBaseUrl: 'http://127.0.0.1:3000' }));
  app.use(dashboardStatic({ publicBaseUrl: 'http://127.0.0.1:3000' }, root));
  // Stands for the dashboard JSON API and the rest of the app, mounted after the static serving.
  app.use((ctx) => {
    ctx.status = ctx.path.startsWith('/dashboard/api/') ? 401 : 404;
    ctx.body = { error: { code: ctx.status === 401 ? 'unauthenticated' : 'not_found', message: 'x' } };
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  // fetch keeps connections alive: close them, or jest waits for them.
  server.closeAllConnections();
  server.close();
  rmSync(root, { recursive: true, force: true });
});

async function get(p: string, init?: RequestInit) {
  const res = await fetch(`${base}${p}`, init);
  return { res, text: await res.text() };
}

it.each([
  '/dashboard',
  '/dashboard/',
  '/dashboard/sign-in',
  '/dashboard/test/payments/order%2F42',
  '/dashboard/live/overview',
])('GET %s answers index.html, not cached, with the dashboard CSP', async (p) => {
  const { res, text } = await get(p);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(text).toBe(INDEX);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("style-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(csp).not.toContain('upgrade-insecure-requests');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
});

it('a hashed asset answers with its type and is cached for good', async () => {
  const js = await get('/dashboard/assets/index-Ab12.js');
  expect(js.res.status).toBe(200);
  expect(js.res.headers.get('content-type')).toMatch(/^(text|application)\/javascript/);
  expect(js.res.headers.get('cache-control')).toBe('max-age=31536000,immutable');
  expect(js.text).toBe('console.log("app");');
  const css = await get('/dashboard/assets/index-Cd34.css');
  expect(css.res.headers.get('content-type')).toMatch(/^text\/css/);
  expect(css.res.headers.get('cache-control')).toBe('max-age=31536000,immutable');
});

it('a missing asset is a 404, never the page (a script URL must not answer HTML)', async () => {
  const { res } = await get('/dashboard/assets/index-gone.js');
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).not.toMatch(/html/);
  expect(res.headers.get('cache-control')).toBe('no-store');
});

it('no file outside the built app is served', async () => {
  writeFileSync(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), 'secret');
  try {
    const { res, text } = await get(`/dashboard/assets/..%2F..%2F${path.basename(root)}-secret.txt`);
    expect(res.status).not.toBe(200);
    expect(text).not.toContain('secret');
  } finally {
    rmSync(path.join(path.dirname(root), `${path.basename(root)}-secret.txt`), { force: true });
  }
});

it.each(['/dashboard/api/session', '/dashboard/api/test/payments', '/dashboard/api/x'])(
  '%s is not swallowed by the fallback',
  async (p) => {
    const { res, text } = await get(p);
    expect(res.status).toBe(401);
    expect(JSON.parse(text)).toEqual({ error: { code: 'unauthenticated', message: 'x' } });
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('content-security-policy')).toBeNull();
  },
);

it('a POST to a page path is left to the rest of the app', async () => {
  const { res } = await get('/dashboard/sign-in', { method: 'POST' });
  expect(res.status).toBe(404);
});

it('paths that only start like the dashboard are not its own', async () => {
  const { res } = await get('/dashboardx');
  expect(res.status).toBe(404);
  expect(res.headers.get('content-security-policy')).toBeNull();
});

it('an https public URL adds upgrade-insecure-requests', async () => {
  const app = new Koa();
  app.use(dashboardStatic({ publicBaseUrl: 'https://pay.example.com' }, root));
  const other = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => other.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/dashboard/`);
    await res.text();
    expect(res.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
  } finally {
    other.closeAllConnections();
    other.close();
  }
});

it('without a built app, the page says how to build it', async () => {
  const empty = mkdtempSync(path.join(tmpdir(), 'dashboard-ui-empty-'));
  const app = new Koa();
  app.use(dashboardStatic({ publicBaseUrl: 'http://127.0.0.1:3000' }, empty));
  const other = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => other.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(other.address() as AddressInfo).port}/dashboard/sign-in`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('npm run build');
  } finally {
    other.closeAllConnections();
    other.close();
    rmSync(empty, { recursive: true, force: true });
  }
});
