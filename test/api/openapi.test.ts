import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { DashboardBrowser, newDashboardUser } from '../support/dashboard';
import { newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/** The published OpenAPI document must describe what the API really answers: real responses, checked by schema. */
let stack: StackClients;
let merchant: CreatedMerchant;
const file = readFileSync(path.join(__dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8');
type Operation = {
  responses: Record<string, { content?: { 'application/json'?: { schema: object } }; $ref?: string }>;
};
const doc = parse(file) as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { responses: Record<string, { content: { 'application/json': { schema: object } } }> };
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi', components: doc.components });
const validator = (apiPath: string, method = 'post', status = '200') => {
  const response = doc.paths[apiPath]![method]!.responses[status]!;
  const named = response.$ref ? doc.components.responses[response.$ref.split('/').at(-1)!] : response;
  const schema = named!.content!['application/json']!.schema;
  // Component references are resolved against the whole document registered above.
  return ajv.compile(
    JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/')) as object,
  );
};

beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack, { live: true });
});
afterAll(() => stack.close());

function expectValid(apiPath: string, body: unknown, method = 'post', status = '200'): void {
  const validate = validator(apiPath, method, status);
  const ok = validate(body);
  if (!ok)
    throw new Error(
      `${apiPath} answer does not match docs/openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(body)}`,
    );
}

it('is an OpenAPI 3.1 document, served by the API as committed', async () => {
  expect(doc.openapi).toMatch(/^3\.1\./);
  const served = await fetch(`${stack.apiUrl}/openapi.yaml`);
  expect(served.status).toBe(200);
  expect(await served.text()).toBe(file);
});

it('describes real payment answers: captured, declined, 3DS pending, and errors', async () => {
  const answers = [
    await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody()),
    await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody({ CardNumber: '4000000000000002' })),
    await post(
      stack.apiUrl,
      'payment',
      merchant.testKey,
      paymentBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' }),
    ),
    await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody({ Amount: '12.34' })),
    await post(stack.apiUrl, 'payment', 'sk_test_nope', paymentBody()),
  ];
  expect(answers.map((a) => a.body.Code)).toEqual([0, 0, 0, 200, 3]);
  expect(answers[2]!.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
  for (const answer of answers) expectValid('/v1/payment/direct', answer.body);
  // While the challenge is outstanding, status carries the URL too.
  const pending = await post(stack.apiUrl, 'status', merchant.testKey, { Tid: answers[2]!.body.Result!.Tid as string });
  expect(pending.body.Result).toMatchObject({
    Status: 'pending',
    '3DSecure': 'yes',
    '3DSecureUrl': answers[2]!.body.Result!['3DSecureUrl'],
  });
  expectValid('/v1/status/direct', pending.body);
});

it('describes real refund and status answers', async () => {
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody());
  const { Tid, Reference } = paid.body.Result as { Tid: string; Reference: string };
  expectValid('/v1/status/direct', (await post(stack.apiUrl, 'status', merchant.testKey, { Reference })).body);
  const refunded = await post(stack.apiUrl, 'refund', merchant.testKey, { Tid });
  expect(refunded.body.Code).toBe(0);
  expectValid('/v1/refund/direct', refunded.body);
  expectValid('/v1/refund/direct', (await post(stack.apiUrl, 'refund', merchant.testKey, { Tid })).body);
  const afterRefund = await post(stack.apiUrl, 'status', merchant.testKey, {
    Reference: refunded.body.Result!.Reference as string,
  });
  expect(afterRefund.body.Result).toMatchObject({
    OperationType: 'refund',
    Status: 'captured',
    Message: 'Payment refunded',
  });
  expectValid('/v1/status/direct', afterRefund.body);
  expectValid('/v1/status/direct', (await post(stack.apiUrl, 'status', merchant.testKey, {})).body);
  expectValid('/v1/status/direct', (await post(stack.apiUrl, 'status', merchant.testKey, { Tid: 'unknown' })).body);
});

it('describes real dashboard answers', async () => {
  const paid = await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody());
  const tid = paid.body.Result!.Tid as string;
  const browser = new DashboardBrowser(stack.apiUrl);
  const email = await newDashboardUser(stack.db, merchant.merchantId);
  const p = '/dashboard/api';
  const check = async (
    apiPath: string,
    method: string,
    status: string,
    path: string,
    body?: unknown,
    options?: Parameters<DashboardBrowser['call']>[3],
  ) => {
    const res = await browser.call(method.toUpperCase(), path, body, options);
    expect([path, res.status]).toEqual([path, Number(status)]);
    expectValid(`${p}${apiPath}`, res.body, method, status);
    return res;
  };
  await check('/session', 'post', '401', '/session', { email, password: 'wrong password here' });
  await check('/session', 'post', '400', '/session', { email });
  expect((await browser.signIn(email)).status).toBe(200);
  await check('/session', 'get', '200', '/session');
  await check('/{mode}/payments', 'get', '200', '/test/payments');
  await check('/{mode}/payments', 'get', '400', '/test/payments?limit=0');
  await check('/{mode}/payments/{tid}', 'get', '200', `/test/payments/${encodeURIComponent(tid)}`);
  await check('/{mode}/payments/{tid}', 'get', '404', '/test/payments/unknown');
  await check('/{mode}/overview', 'get', '200', '/test/overview');
  await check('/{mode}/developers', 'get', '200', '/test/developers');
  await check('/{mode}/payments/{tid}/refund', 'post', '200', `/test/payments/${encodeURIComponent(tid)}/refund`, {});
  await check('/{mode}/payments/{tid}/refund', 'post', '409', `/test/payments/${encodeURIComponent(tid)}/refund`, {});
  await check(
    '/{mode}/payments/{tid}/refund',
    'post',
    '403',
    `/test/payments/${encodeURIComponent(tid)}/refund`,
    {},
    {
      csrf: null,
    },
  );
  await check('/{mode}/webhook-test', 'post', '200', '/live/webhook-test', { url: 'http://127.0.0.1:9/x' });
  await check('/{mode}/keys', 'post', '200', '/test/keys', { graceHours: 1 });
  await check('/webhook-secret/rotate', 'post', '200', '/webhook-secret/rotate', {});
});
