import { type Encoding, paymentBody, post, useStackWithMerchant } from '../support/factories';

/** Existing E-PRO integrations must work unchanged: every body shape, canonical and variant field names. */
const shop = useStackWithMerchant();

function lowerCased(body: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
}

function documentedVariants(body: Record<string, string>): Record<string, string> {
  return {
    ...body,
    firstName: 'Jane',
    LastName: 'Doe',
    zipCode: '75001',
    birthDate: '1990-01-31',
    birthplace: 'Paris',
    IP: '203.0.113.7',
    customerID: 'c-1',
    callbackurl: 'http://127.0.0.1:1/hook',
  };
}

describe.each<Encoding>(['json', 'form', 'multipart'])('a payment sent as %s', (encoding) => {
  it.each([
    ['canonical names', (b: Record<string, string>) => b],
    ['lower-cased names', lowerCased],
    [
      'UPPER-CASED names',
      (b: Record<string, string>) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k.toUpperCase(), v])),
    ],
    ['the documented variants', documentedVariants],
  ])('is accepted with %s', async (_name, shape) => {
    const body = shape(paymentBody());
    const answer = await post(shop.stack.apiUrl, 'payment', undefined, body, encoding, {
      'EPRO-API-KEY': shop.merchant.testKey,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      Code: 0,
      Result: { Status: 'captured', Amount: 12.34, Currency: 'EUR', '3DSecure': 'no' },
    });
  });
});

it('trims values, takes numbers as JSON numbers, and ignores unknown fields', async () => {
  const body = { ...paymentBody(), Amount: 1234, CardMonth: 12, Uid: '  customer-42  ', Foo: 'bar', Nested: { a: 1 } };
  const res = await fetch(`${shop.stack.apiUrl}/v1/payment/direct`, {
    method: 'POST',
    headers: { 'epro-api-key': shop.merchant.testKey, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { Code: number; Result: Record<string, unknown> };
  expect(answer.Code).toBe(0);
  expect(answer.Result.UserId).toBe('customer-42');
});

it('prefers the exact canonical spelling when a variant also arrives', async () => {
  const body = { ...paymentBody(), amount: '999999999', Amount: '1234' };
  const answer = await post(shop.stack.apiUrl, 'payment', shop.merchant.testKey, body);
  expect(answer.body.Result).toMatchObject({ Amount: 12.34 });
});

it('reads the key header case-insensitively and echoes X-Request-Id', async () => {
  const answer = await post(shop.stack.apiUrl, 'status', undefined, { Tid: 'nope' }, 'json', {
    'EPRO-API-KEY': shop.merchant.testKey,
    'X-Request-Id': 'abc-123',
  });
  expect(answer.body.Code).toBe(102);
  expect(answer.requestId).toBe('abc-123');
});
