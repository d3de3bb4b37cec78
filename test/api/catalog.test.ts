import { type CreatedMerchant, setMerchantStatus } from '../../src/auth/accounts';
import { type Encoding, newMerchant, paymentBody, post } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * The error catalog of docs/error-codes.md, code by code, through the real API (real Temporal, FerretDB, worker),
 * in each accepted body shape: always HTTP 200, JSON, the exact Code and message.
 */
let stack: StackClients;
const merchants: Record<
  'plain' | 'no3ds' | 'limited' | 'requiresBirthDate' | 'disabled' | 'liveUnconfigured',
  CreatedMerchant
> = {} as never;

beforeAll(async () => {
  stack = await connectToStack();
  [
    merchants.plain,
    merchants.no3ds,
    merchants.limited,
    merchants.requiresBirthDate,
    merchants.disabled,
    merchants.liveUnconfigured,
  ] = await Promise.all([
    newMerchant(stack),
    newMerchant(stack, { threeDSAllowed: false }),
    newMerchant(stack, { maxAmount: 1000 }),
    newMerchant(stack, { requiredFields: ['BirthDate'] }),
    newMerchant(stack),
    newMerchant(stack, { live: true }),
  ]);
  await setMerchantStatus(stack.db, merchants.disabled.merchantId, 'disabled');
});
afterAll(() => stack.close());

const LONG = (n: number) => 'x'.repeat(n);

interface Case {
  name: string;
  code: number;
  error: string;
  body: Record<string, string>;
  merchant?: keyof typeof merchants;
  key?: 'missing' | 'empty' | 'garbage' | 'live';
}

const cases: Case[] = [
  { name: 'no key header', key: 'missing', body: paymentBody(), code: 4, error: 'API key missing' },
  { name: 'an empty key header', key: 'empty', body: paymentBody(), code: 4, error: 'API key missing' },
  { name: 'a malformed key', key: 'garbage', body: paymentBody(), code: 3, error: 'Invalid API key' },
  {
    name: 'the first missing field in field order',
    body: paymentBody({ Amount: undefined, CardNumber: undefined }),
    code: 5,
    error: 'Missing parameter Amount',
  },
  ...(['Uid', 'Tid', 'Email', 'CardNumber', 'CardMonth', 'CardYear', 'CardCVV'] as const).map((field) => ({
    name: `missing ${field}`,
    body: paymentBody({ [field]: undefined }),
    code: 5,
    error: `Missing parameter ${field}`,
  })),
  { name: 'a decimal Amount', body: paymentBody({ Amount: '12.34' }), code: 200, error: 'Invalid parameter Amount' },
  {
    name: 'a card number as Uid',
    body: paymentBody({ Uid: '5555555555554444' }),
    code: 201,
    error: 'Invalid parameter Uid: looks like a card number',
  },
  {
    name: 'a card number as Tid',
    body: paymentBody({ Tid: '4111111111111111' }),
    code: 202,
    error: 'Invalid parameter Tid: looks like a card number',
  },
  {
    name: 'a card number with spaces in Description',
    body: paymentBody({ Description: 'card 4242 4242 4242 4242' }),
    code: 204,
    error: 'Invalid parameter Description: looks like a card number',
  },
  { name: 'a 65-char Uid', body: paymentBody({ Uid: LONG(65) }), code: 201, error: 'Invalid parameter Uid' },
  { name: 'a 65-char Tid', body: paymentBody({ Tid: LONG(65) }), code: 202, error: 'Invalid parameter Tid' },
  { name: 'a bad Email', body: paymentBody({ Email: 'not-an-email' }), code: 203, error: 'Invalid parameter Email' },
  {
    name: 'a 257-char Description',
    body: paymentBody({ Description: LONG(257) }),
    code: 204,
    error: 'Invalid parameter Description',
  },
  {
    name: 'a 65-char CustomerId',
    body: paymentBody({ CustomerId: LONG(65) }),
    code: 205,
    error: 'Invalid parameter CustomerId',
  },
  {
    name: 'a Luhn-invalid CardNumber',
    body: paymentBody({ CardNumber: '4111111111111112' }),
    code: 206,
    error: 'Invalid parameter CardNumber, check format or Luhn algorithm',
  },
  { name: 'CardMonth 13', body: paymentBody({ CardMonth: '13' }), code: 207, error: 'Invalid parameter CardMonth' },
  {
    name: 'a 3-digit CardYear',
    body: paymentBody({ CardYear: '203' }),
    code: 208,
    error: 'Invalid parameter CardYear',
  },
  {
    name: 'an expired card',
    body: paymentBody({ CardMonth: '1', CardYear: '2020' }),
    code: 208,
    error: 'Invalid parameter CardYear, card expired',
  },
  { name: 'a 2-digit CVV', body: paymentBody({ CardCVV: '12' }), code: 209, error: 'Invalid parameter CardCVV' },
  {
    name: 'a 65-char CardOwner',
    body: paymentBody({ CardOwner: LONG(65) }),
    code: 210,
    error: 'Invalid parameter CardOwner',
  },
  {
    name: 'a 65-char Firstname',
    body: paymentBody({ Firstname: LONG(65) }),
    code: 211,
    error: 'Invalid parameter Firstname',
  },
  {
    name: 'a 65-char Lastname',
    body: paymentBody({ Lastname: LONG(65) }),
    code: 212,
    error: 'Invalid parameter Lastname',
  },
  {
    name: 'a 129-char Address',
    body: paymentBody({ Address: LONG(129) }),
    code: 213,
    error: 'Invalid parameter Address',
  },
  {
    name: 'a 17-char ZipCode',
    body: paymentBody({ ZipCode: '1'.repeat(17) }),
    code: 214,
    error: 'Invalid parameter ZipCode',
  },
  { name: 'a 65-char City', body: paymentBody({ City: LONG(65) }), code: 215, error: 'Invalid parameter City' },
  { name: 'an alpha-2 Country', body: paymentBody({ Country: 'FR' }), code: 216, error: 'Invalid parameter Country' },
  {
    name: 'a Phone with letters',
    body: paymentBody({ Phone: 'call me' }),
    code: 217,
    error: 'Invalid parameter Phone',
  },
  {
    name: 'an impossible BirthDate',
    body: paymentBody({ BirthDate: '1990-02-30' }),
    code: 218,
    error: 'Invalid parameter BirthDate',
  },
  {
    name: 'a 65-char BirthPlace',
    body: paymentBody({ BirthPlace: LONG(65) }),
    code: 219,
    error: 'Invalid parameter BirthPlace',
  },
  { name: 'an IPv6 ClientIp', body: paymentBody({ ClientIp: '::1' }), code: 220, error: 'Invalid parameter ClientIp' },
  {
    name: 'a relative ReturnUrl',
    body: paymentBody({ ReturnUrl: '/return' }),
    code: 221,
    error: 'Invalid parameter ReturnUrl',
  },
  {
    name: 'an ftp CallbackUrl',
    body: paymentBody({ CallbackUrl: 'ftp://shop.example/hook' }),
    code: 221,
    error: 'Invalid parameter CallbackUrl',
  },
  { name: '3DS=maybe', body: paymentBody({ '3DS': 'maybe' }), code: 221, error: 'Invalid parameter 3DS' },
  { name: 'OneClick=2', body: paymentBody({ OneClick: '2' }), code: 221, error: 'Invalid parameter OneClick' },
  {
    name: 'a decimal OriginalAmount',
    body: paymentBody({ OriginalAmount: '1.5' }),
    code: 221,
    error: 'Invalid parameter OriginalAmount',
  },
  {
    name: 'a 4-letter OriginalCurrency',
    body: paymentBody({ OriginalCurrency: 'EURO' }),
    code: 221,
    error: 'Invalid parameter OriginalCurrency',
  },
  {
    name: 'ConvertCurrency=y',
    body: paymentBody({ ConvertCurrency: 'y' }),
    code: 221,
    error: 'Invalid parameter ConvertCurrency',
  },
  {
    name: '3DS=yes without ReturnUrl',
    body: paymentBody({ '3DS': 'yes' }),
    code: 106,
    error: 'ReturnUrl is mandatory with 3DS=yes',
  },
  {
    name: '3DS=yes on an account without 3DS',
    merchant: 'no3ds',
    body: paymentBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' }),
    code: 8,
    error: '3DSecure not allowed on this account',
  },
  {
    name: 'a Maestro card without 3DS',
    body: paymentBody({ CardNumber: '6759649826438453' }),
    code: 22,
    error: 'Maestro cards require 3DSecure',
  },
  {
    name: 'a field the account requires',
    merchant: 'requiresBirthDate',
    body: paymentBody(),
    code: 222,
    error: 'Merchant configuration requires BirthDate',
  },
  {
    name: 'an amount over the account limit',
    merchant: 'limited',
    body: paymentBody({ Amount: '1001' }),
    code: 300,
    error: "Amount exceeds merchant's per-transaction limit",
  },
  {
    name: 'a disabled account',
    merchant: 'disabled',
    body: paymentBody(),
    code: 7,
    error: 'Invalid account configuration: merchant account is disabled',
  },
  {
    name: 'a live key without a live processor',
    merchant: 'liveUnconfigured',
    key: 'live',
    body: paymentBody(),
    code: 7,
    error: 'Invalid account configuration: live payments are not set up for this account',
  },
];

function keyFor(c: Case): string | undefined {
  const merchant = merchants[c.merchant ?? 'plain'];
  switch (c.key) {
    case 'missing':
      return undefined;
    case 'empty':
      return '';
    case 'garbage':
      return 'sk_test_not-a-real-key';
    case 'live':
      return merchant.liveKey!;
    default:
      return merchant.testKey;
  }
}

describe.each<Encoding>(['json', 'form', 'multipart'])('payment errors sent as %s', (encoding) => {
  it.each(cases)('$name → $code', async (c) => {
    const answer = await post(stack.apiUrl, 'payment', keyFor(c), c.body, encoding);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toMatch(/^application\/json/);
    expect(answer.body).toEqual({ Code: c.code, Error: c.error });
  });
});

describe('lookup errors', () => {
  it('refund and status with neither Tid nor Reference → 1', async () => {
    for (const endpoint of ['refund', 'status'] as const) {
      const answer = await post(stack.apiUrl, endpoint, merchants.plain.testKey, {});
      expect(answer.body).toEqual({ Code: 1, Error: 'Invalid request: Tid or Reference is required' });
    }
  });

  it('an unknown Tid or Reference → 102 on refund and status', async () => {
    for (const endpoint of ['refund', 'status'] as const) {
      for (const body of [
        { Tid: 'never-used' },
        { Reference: 'pr_doesnotexist0000000000' },
        { Reference: 'garbage' },
      ] as Record<string, string>[]) {
        expect((await post(stack.apiUrl, endpoint, merchants.plain.testKey, body)).body).toEqual({
          Code: 102,
          Error: 'Transaction not found',
        });
      }
    }
  });

  it('the Tid of another merchant, or of the other mode, is not found (102)', async () => {
    const paid = await post(stack.apiUrl, 'payment', merchants.plain.testKey, paymentBody());
    expect(paid.body.Code).toBe(0);
    const { Tid, Reference } = paid.body.Result as { Tid: string; Reference: string };
    for (const key of [merchants.no3ds.testKey, merchants.liveUnconfigured.liveKey!]) {
      for (const body of [{ Tid }, { Reference }] as Record<string, string>[]) {
        expect((await post(stack.apiUrl, 'status', key, body)).body.Code).toBe(102);
        expect((await post(stack.apiUrl, 'refund', key, body)).body.Code).toBe(102);
      }
    }
  });

  it('refunding a declined payment → 103; refunding twice → 103', async () => {
    const declined = await post(
      stack.apiUrl,
      'payment',
      merchants.plain.testKey,
      paymentBody({ CardNumber: '4000000000000002' }),
    );
    expect(declined.body.Result).toMatchObject({ Status: 'failed', Message: 'Card declined' });
    const refusal = await post(stack.apiUrl, 'refund', merchants.plain.testKey, {
      Tid: declined.body.Result!.Tid as string,
    });
    expect(refusal.body).toEqual({ Code: 103, Error: 'Invalid transaction: payment is not captured' });

    const captured = await post(stack.apiUrl, 'payment', merchants.plain.testKey, paymentBody());
    const tid = captured.body.Result!.Tid as string;
    expect((await post(stack.apiUrl, 'refund', merchants.plain.testKey, { Tid: tid })).body.Code).toBe(0);
    expect((await post(stack.apiUrl, 'refund', merchants.plain.testKey, { Tid: tid })).body).toEqual({
      Code: 103,
      Error: 'Invalid transaction: payment already refunded',
    });
  });

  it('a refund Amount other than the payment amount → 200, after the lookup (102) and before the refund rules (103)', async () => {
    const partial = 'Invalid parameter Amount: V1 refunds are full refunds only (captured: 1234)';
    expect(
      (await post(stack.apiUrl, 'refund', merchants.plain.testKey, { Tid: 'never-used', Amount: '1' })).body.Code,
    ).toBe(102);
    const declined = await post(
      stack.apiUrl,
      'payment',
      merchants.plain.testKey,
      paymentBody({ CardNumber: '4000000000000002' }),
    );
    const tid = declined.body.Result!.Tid as string;
    expect((await post(stack.apiUrl, 'refund', merchants.plain.testKey, { Tid: tid, Amount: '1000' })).body).toEqual({
      Code: 200,
      Error: partial,
    });
    expect((await post(stack.apiUrl, 'refund', merchants.plain.testKey, { Tid: tid, Amount: '1234' })).body.Code).toBe(
      103,
    );
  });

  it('a Tid or Reference that looks like a card number is not found (102) on refund and status', async () => {
    for (const endpoint of ['refund', 'status'] as const) {
      for (const body of [
        { Tid: '4111111111111111' },
        { Tid: '5555 5555 5555 4444' },
        { Reference: '4242-4242-4242-4242' },
      ] as Record<string, string>[]) {
        expect((await post(stack.apiUrl, endpoint, merchants.plain.testKey, body)).body).toEqual({
          Code: 102,
          Error: 'Transaction not found',
        });
      }
    }
  });

  it('a Tid used before, whatever its outcome → 104', async () => {
    for (const card of ['4111111111111111', '4000000000000002']) {
      const body = paymentBody({ CardNumber: card });
      expect((await post(stack.apiUrl, 'payment', merchants.plain.testKey, body)).body.Code).toBe(0);
      expect((await post(stack.apiUrl, 'payment', merchants.plain.testKey, { ...body, Amount: '999' })).body).toEqual({
        Code: 104,
        Error: 'Tid already used',
      });
    }
  });

  it('the same Tid is free in the other mode and for another merchant', async () => {
    const live = await newMerchant(stack, { live: true, liveConnector: 'simulator' });
    const body = paymentBody();
    expect((await post(stack.apiUrl, 'payment', live.testKey, body)).body.Code).toBe(0);
    expect((await post(stack.apiUrl, 'payment', live.liveKey!, body)).body.Code).toBe(0);
    expect((await post(stack.apiUrl, 'payment', merchants.plain.testKey, body)).body.Code).toBe(0);
  });
});

describe('request bodies that cannot be read', () => {
  const raw = (body: string | Buffer, contentType?: string) =>
    fetch(`${stack.apiUrl}/v1/payment/direct`, {
      method: 'POST',
      headers: { 'epro-api-key': merchants.plain.testKey, ...(contentType ? { 'content-type': contentType } : {}) },
      body,
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as { Code: number; Error?: string } }));

  it.each([
    ['broken JSON', '{"Amount": ', 'application/json', 'Invalid request: body is not valid JSON'],
    ['a JSON array', '[1,2,3]', 'application/json', 'Invalid request: body must be an object of fields'],
    ['a JSON string', '"hello"', 'application/json', 'Invalid request: body must be an object of fields'],
    [
      'a body over 64 KiB',
      JSON.stringify({ ...paymentBody(), Description: 'x'.repeat(70_000) }),
      'application/json',
      'Invalid request: body exceeds 64 KiB',
    ],
    [
      'multipart without a boundary',
      'Amount=1',
      'multipart/form-data',
      'Invalid request: multipart body without a valid boundary',
    ],
  ])('%s → 1', async (_name, body, contentType, error) => {
    expect(await raw(body, contentType)).toEqual({ status: 200, body: { Code: 1, Error: error } });
  });

  it('a body with no content type is tried as JSON, then as a form', async () => {
    const asJson = await raw(JSON.stringify(paymentBody()));
    expect(asJson.body.Code).toBe(0);
    const asForm = await raw(new URLSearchParams(paymentBody()).toString());
    expect(asForm.body.Code).toBe(0);
  });

  it('a wrong method on an E-PRO path still gets an envelope', async () => {
    const res = await fetch(`${stack.apiUrl}/v1/status/direct`, {
      headers: { 'epro-api-key': merchants.plain.testKey },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ Code: 1, Error: 'Invalid request: use POST' });
  });
});
