import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { securityHeaders } from '../../src/http/security-headers';

/** The security headers middleware with a configuration: HSTS only when the public URL is https. */
async function answer(publicBaseUrl: string, handler: Koa.Middleware): Promise<Response> {
  const app = new Koa();
  app.silent = true;
  app.use(securityHeaders({ publicBaseUrl }));
  app.use(handler);
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.arrayBuffer();
    return res;
  } finally {
    server.close();
  }
}

const ok: Koa.Middleware = (ctx) => {
  ctx.body = { Code: 0 };
};
const fails: Koa.Middleware = () => {
  throw new Error('boom');
};

it('with an https PUBLIC_BASE_URL: HSTS, no-store and nosniff', async () => {
  const res = await answer('https://pay.example.com', ok);
  expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
});

it('with an http PUBLIC_BASE_URL: no HSTS, still no-store and nosniff', async () => {
  const res = await answer('http://127.0.0.1:3000', ok);
  expect(res.headers.get('strict-transport-security')).toBeNull();
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
});

it("an error nobody caught keeps the headers on Koa's own error answer", async () => {
  const res = await answer('https://pay.example.com', fails);
  expect(res.status).toBe(500);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
});
