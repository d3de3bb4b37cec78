import { newMerchant, paymentBody } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * Every kind of answer of the API process carries Cache-Control: no-store and X-Content-Type-Options: nosniff;
 * the test stack's public URL is http, so no Strict-Transport-Security (test/unit/security-headers covers https).
 */
let stack: StackClients;
let key: string;
beforeAll(async () => {
  stack = await connectToStack();
  key = (await newMerchant(stack)).testKey;
});
afterAll(() => stack.close());

const epro = (endpoint: string, body: unknown, apiKey?: string) =>
  fetch(`${stack.apiUrl}/v1/${endpoint}/direct`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(apiKey ? { 'epro-api-key': apiKey } : {}) },
    body: JSON.stringify(body),
  });

const answers: [string, () => Promise<Response>, number][] = [
  ['a payment answered with Code 0', () => epro('payment', paymentBody(), key), 200],
  ['an error envelope (no key, Code 4)', () => epro('status', { Tid: 'x' }), 200],
  ['an error envelope (Code 102)', () => epro('status', { Tid: 'never-used' }, key), 200],
  ['GET on an E-PRO endpoint (Code 1)', () => fetch(`${stack.apiUrl}/v1/status/direct`), 200],
  ['/health', () => fetch(`${stack.apiUrl}/health`), 200],
  ['/ready', () => fetch(`${stack.apiUrl}/ready`), 200],
  ['/openapi.yaml', () => fetch(`${stack.apiUrl}/openapi.yaml`), 200],
  ['a 3-D Secure page', () => fetch(`${stack.apiUrl}/v1/3ds/pr_doesnotexist0000000000`), 404],
  ['an unknown path', () => fetch(`${stack.apiUrl}/nothing-here`), 404],
];

it.each(answers)('%s carries no-store and nosniff, and no HSTS over http', async (_name, request, status) => {
  const res = await request();
  await res.arrayBuffer();
  expect(res.status).toBe(status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  expect(res.headers.get('strict-transport-security')).toBeNull();
});

it('the 3-D Secure pages keep their own Content-Security-Policy and frame refusal', async () => {
  const res = await fetch(`${stack.apiUrl}/v1/3ds/pr_doesnotexist0000000000`);
  expect(res.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
  expect(res.headers.get('x-frame-options')).toBe('DENY');
});
