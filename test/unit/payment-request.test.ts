import { customerDetails } from '../../src/epro/customer';
import { BILLING_CUSTOMER, BILLING_DETAILS, BILLING_FIELDS } from '../support/billing';
import { EproError } from '../../src/epro/errors';
import { type AccountRules, validatePaymentRequest } from '../../src/epro/payment-request';

/**
 * validatePaymentRequest against the error catalog of docs/error-codes.md: one error per request, in the order
 * required fields (5) → each field's format in field order (200–221) → cross-field rules (106, 8, 22, 222) →
 * account limits (300, 7), with the exact wire messages.
 */

const NOW = new Date('2026-06-15T12:00:00Z');
const THIS_YEAR = NOW.getUTCFullYear(); // 2026, current month June
const CARD_YEAR = String(THIS_YEAR + 2);

const ACCOUNT: AccountRules = {
  mode: 'test',
  currency: 'EUR',
  maxAmount: null,
  threeDSAllowed: true,
  requiredFields: [],
  liveConnector: null,
};
const LIVE: Partial<AccountRules> = { mode: 'live', liveConnector: 'simulator' };
// The 7 validation still gives: live payments not set up. A disabled account gets 7 before validation (test/api).
const LIVE_UNCONFIGURED: Partial<AccountRules> = { mode: 'live', liveConnector: null };

type Body = Record<string, unknown>;

const BASE: Readonly<Body> = {
  Amount: '1234',
  Uid: 'customer-42',
  Tid: 'order-2026-001',
  Email: 'jane@example.com',
  CardNumber: '4111111111111111',
  CardMonth: '12',
  CardYear: CARD_YEAR,
  CardCVV: '123',
};

const REQUIRED = ['Amount', 'Uid', 'Tid', 'Email', 'CardNumber', 'CardMonth', 'CardYear', 'CardCVV'] as const;

const LUHN_MESSAGE = 'Invalid parameter CardNumber, check format or Luhn algorithm';
const EXPIRED_MESSAGE = 'Invalid parameter CardYear, card expired';
const MAESTRO = '6759649826438453';

/** The base body with fields overridden (value `undefined` removes the field). */
function body(overrides: Body = {}): Body {
  const result: Body = { ...BASE, ...overrides };
  for (const [key, value] of Object.entries(overrides)) if (value === undefined) delete result[key];
  return result;
}

function validate(input: Body, account: Partial<AccountRules> = {}) {
  return validatePaymentRequest(input, { account: { ...ACCOUNT, ...account }, now: NOW });
}

/** `{code: 0}` when accepted, else the EproError's code and message; anything else is a test failure. */
async function outcome(input: Body, account: Partial<AccountRules> = {}): Promise<{ code: number; message?: string }> {
  try {
    await validate(input, account);
    return { code: 0 };
  } catch (err) {
    if (err instanceof EproError) return { code: err.code, message: err.message };
    throw err;
  }
}

const accepted = { code: 0 };
const invalid = (code: number, field: string) => ({ code, message: `Invalid parameter ${field}` });

describe('the base request', () => {
  it('is accepted and returns the typed fields', async () => {
    await expect(validate(body())).resolves.toEqual({
      amount: 1234,
      uid: 'customer-42',
      tid: 'order-2026-001',
      email: 'jane@example.com',
      description: undefined,
      customerId: undefined,
      card: { number: '4111111111111111', month: 12, year: THIS_YEAR + 2, cvv: '123', owner: undefined, brand: 'visa' },
      billing: {},
      returnUrl: undefined,
      callbackUrl: undefined,
      threeDS: false,
      oneClick: false,
      originalAmount: undefined,
      originalCurrency: undefined,
      convertCurrency: false,
    });
  });

  it('returns every optional field typed, the country upper-cased', async () => {
    const full = body({
      ...BILLING_FIELDS,
      ReturnUrl: 'https://shop.example.com/return',
      CallbackUrl: 'https://shop.example.com/webhook',
      '3DS': 'yes',
      OneClick: 'yes',
      OriginalAmount: '1500',
      OriginalCurrency: 'usd',
      ConvertCurrency: 'yes',
    });
    await expect(validate(full)).resolves.toEqual({
      amount: 1234,
      uid: 'customer-42',
      tid: 'order-2026-001',
      email: 'jane@example.com',
      description: 'Order 42',
      customerId: 'cust-7',
      card: {
        number: '4111111111111111',
        month: 12,
        year: THIS_YEAR + 2,
        cvv: '123',
        owner: 'Jane Doe',
        brand: 'visa',
      },
      billing: BILLING_DETAILS,
      returnUrl: 'https://shop.example.com/return',
      callbackUrl: 'https://shop.example.com/webhook',
      threeDS: true,
      oneClick: true,
      originalAmount: 1500,
      originalCurrency: 'USD',
      convertCurrency: true,
    });
  });

  it('accepts JSON numbers for numeric fields and returns the amount as a number', async () => {
    const parsed = await validate(body({ Amount: 4999, CardMonth: 7, CardYear: THIS_YEAR + 2, CardCVV: 123 }));
    expect(parsed.amount).toBe(4999);
    expect(parsed.card).toMatchObject({ month: 7, year: THIS_YEAR + 2, cvv: '123' });
  });

  it('accepts field names in any casing and the documented aliases', async () => {
    const parsed = await validate({
      amount: '1234',
      UID: 'u',
      tid: 't',
      EMAIL: 'jane@example.com',
      cardnumber: '4111111111111111',
      CARDMONTH: '12',
      cardYear: CARD_YEAR,
      CARDCVV: '123',
      IP: '203.0.113.7',
      customerID: 'c-1',
      firstName: 'Jane',
    });
    expect(parsed).toMatchObject({
      amount: 1234,
      uid: 'u',
      tid: 't',
      customerId: 'c-1',
      billing: { clientIp: '203.0.113.7', firstname: 'Jane' },
    });
  });

  it('ignores unknown fields', async () => {
    await expect(outcome(body({ Foo: 'bar', Currency: 'USD', nested: { a: 1 } }))).resolves.toEqual(accepted);
  });

  it('trims values before validating them', async () => {
    const parsed = await validate(
      body({ Amount: ' 1234 ', Email: ' jane@example.com ', CardNumber: ' 4111111111111111 ' }),
    );
    expect(parsed).toMatchObject({ amount: 1234, email: 'jane@example.com', card: { number: '4111111111111111' } });
  });
});

describe('code 5: missing required parameter', () => {
  it.each(REQUIRED.map((field) => [field, `Missing parameter ${field}`]))(
    'a request without %s is refused with 5 "%s"',
    async (field, message) => {
      await expect(outcome(body({ [field]: undefined }))).resolves.toEqual({ code: 5, message });
    },
  );

  it.each([
    ['an empty string', ''],
    ['whitespace only', '   '],
    ['null', null],
  ])('a required field sent as %s counts as missing', async (_label, value) => {
    await expect(outcome(body({ Tid: value }))).resolves.toEqual({ code: 5, message: 'Missing parameter Tid' });
  });

  it.each([
    [['CardCVV', 'Email', 'Uid'], 'Uid'],
    [['CardYear', 'CardNumber'], 'CardNumber'],
    [['CardCVV', 'CardMonth'], 'CardMonth'],
    [['CardCVV', 'CardYear'], 'CardYear'],
    [[...REQUIRED].reverse(), 'Amount'],
  ])('when %j are all missing, the first in field order is named (%s)', async (missing, first) => {
    const input = body(Object.fromEntries(missing.map((name) => [name, undefined])));
    await expect(outcome(input)).resolves.toEqual({ code: 5, message: `Missing parameter ${first}` });
  });

  it('refuses an empty body with "Missing parameter Amount"', async () => {
    await expect(outcome({})).resolves.toEqual({ code: 5, message: 'Missing parameter Amount' });
  });

  it('a missing field wins over a malformed one, even an earlier one', async () => {
    await expect(outcome(body({ Amount: 'abc', CardCVV: undefined }))).resolves.toEqual({
      code: 5,
      message: 'Missing parameter CardCVV',
    });
  });
});

interface FieldCase {
  field: string;
  why: string;
  value: unknown;
  code: number;
  message: string;
}

const bad = (
  field: string,
  why: string,
  value: unknown,
  code: number,
  message = `Invalid parameter ${field}`,
): FieldCase => ({
  field,
  why,
  value,
  code,
  message,
});

describe('codes 200–220: one invalid-parameter code per field', () => {
  const cases: FieldCase[] = [
    bad('Amount', 'with a decimal point "12.34"', '12.34', 200),
    bad('Amount', 'of zero', '0', 200),
    bad('Amount', 'that is negative', '-5', 200),
    bad('Amount', 'that is not a number', 'abc', 200),
    bad('Amount', 'sent as a decimal JSON number', 12.34, 200),
    bad('Uid', 'of 65 characters', 'u'.repeat(65), 201),
    bad('Tid', 'of 65 characters', 't'.repeat(65), 202),
    bad('Email', 'without an @', 'not-an-email', 203),
    bad('Email', 'without a domain', 'jane@', 203),
    bad('Email', 'without a local part', '@example.com', 203),
    bad('Description', 'of 257 characters', 'd'.repeat(257), 204),
    bad('CustomerId', 'of 65 characters', 'c'.repeat(65), 205),
    bad('CardNumber', 'failing the Luhn check', '4111111111111112', 206, LUHN_MESSAGE),
    bad('CardNumber', 'of 12 digits', '411111111111', 206, LUHN_MESSAGE),
    bad('CardNumber', 'of 20 digits', '41111111111111111113', 206, LUHN_MESSAGE),
    bad('CardNumber', 'containing letters', '4111abcd11111111', 206, LUHN_MESSAGE),
    bad('CardMonth', 'of 0', '0', 207),
    bad('CardMonth', 'of 13', '13', 207),
    bad('CardMonth', 'with letters', 'ab', 207),
    bad('CardYear', 'of three digits', '202', 208),
    bad('CardYear', 'in the past (four digits)', String(THIS_YEAR - 1), 208, EXPIRED_MESSAGE),
    bad('CardYear', 'in the past (two digits)', String(THIS_YEAR - 1).slice(2), 208, EXPIRED_MESSAGE),
    bad('CardCVV', 'of two digits', '12', 209),
    bad('CardCVV', 'of five digits', '12345', 209),
    bad('CardCVV', 'with letters', '12a', 209),
    bad('CardOwner', 'of 65 characters', 'o'.repeat(65), 210),
    bad('Firstname', 'of 65 characters', 'f'.repeat(65), 211),
    bad('Lastname', 'of 65 characters', 'l'.repeat(65), 212),
    bad('Address', 'of 129 characters', 'a'.repeat(129), 213),
    bad('ZipCode', 'of 17 characters', '1'.repeat(17), 214),
    bad('City', 'of 65 characters', 'c'.repeat(65), 215),
    bad('Country', 'in alpha-2 "FR"', 'FR', 216),
    bad('Country', 'not assigned "XXX"', 'XXX', 216),
    bad('Phone', 'with letters', '+33 6 ab cd ef', 217),
    bad('Phone', 'of 33 characters', '1'.repeat(33), 217),
    bad('BirthDate', 'that does not exist "2020-02-30"', '2020-02-30', 218),
    bad('BirthDate', 'without dashes "20200101"', '20200101', 218),
    bad('BirthDate', 'in the future', `${THIS_YEAR + 1}-01-01`, 218),
    bad('BirthPlace', 'of 65 characters', 'b'.repeat(65), 219),
    bad('ClientIp', 'with an octet above 255', '256.1.1.1', 220),
    bad('ClientIp', 'in IPv6 "::1"', '::1', 220),
    bad('ClientIp', 'with three octets', '1.2.3', 220),
  ];

  it.each(cases)('$field $why is refused with $code "$message"', async ({ field, value, code, message }) => {
    await expect(outcome(body({ [field]: value }))).resolves.toEqual({ code, message });
  });

  it('covers every per-field code from 200 to 220', () => {
    const codes = new Set(cases.map((c) => c.code));
    for (let code = 200; code <= 220; code++) expect(codes).toContain(code);
  });
});

describe('code 221: flow-control fields', () => {
  const cases: FieldCase[] = [
    bad('ReturnUrl', 'with an ftp scheme', 'ftp://x', 221),
    bad('ReturnUrl', 'that is not a URL', 'not a url', 221),
    bad('CallbackUrl', 'that is relative', '/webhooks/settleflow', 221),
    bad('CallbackUrl', 'with a javascript scheme', 'javascript:alert(1)', 221),
    bad('3DS', 'other than yes/no', 'maybe', 221),
    bad('OneClick', 'of "2"', '2', 221),
    bad('OriginalAmount', 'with a decimal point', '1.5', 221),
    bad('OriginalCurrency', 'of four letters', 'EURO', 221),
    bad('ConvertCurrency', 'of "y"', 'y', 221),
  ];

  it.each(cases)('$field $why is refused with 221 "$message"', async ({ field, value, code, message }) => {
    await expect(outcome(body({ [field]: value }))).resolves.toEqual({ code, message });
  });

  it('ConvertCurrency=yes is refused with 221 on a non-EUR account (docs/fields.md: EUR accounts only)', async () => {
    await expect(outcome(body({ ConvertCurrency: 'yes' }), { currency: 'USD' })).resolves.toEqual(
      invalid(221, 'ConvertCurrency'),
    );
  });
});

describe('values that are not strings or numbers', () => {
  it.each([
    ['Amount', { $gt: '' }, 200],
    ['Amount', ['1234'], 200],
    ['Uid', { $ne: null }, 201],
    ['Email', true, 203],
    ['CardMonth', [12], 207],
    ['ReturnUrl', { href: 'https://x.example' }, 221],
    ['3DS', true, 221],
  ])('%s sent as %j fails its own format check with code %d', async (field, value, code) => {
    await expect(outcome(body({ [field]: value }))).resolves.toEqual(invalid(code, field));
  });

  it('CardNumber sent as an array answers 206 with the catalog message for CardNumber', async () => {
    // docs/error-codes.md gives 206 one wire message; a non-scalar CardNumber currently gets the bare
    // "Invalid parameter CardNumber" (src/epro/payment-request.ts, INVALID branch of validatePaymentRequest).
    await expect(outcome(body({ CardNumber: ['4111111111111111'] }))).resolves.toEqual({
      code: 206,
      message: LUHN_MESSAGE,
    });
  });
});

describe('card numbers in free-text fields and identifiers', () => {
  const PAN = '4111111111111111';
  const CHECKED: [string, number, string][] = [
    ['Uid', 201, PAN],
    ['Tid', 202, PAN],
    ['Email', 203, `${PAN}@example.com`],
    ['Description', 204, `Order for card ${PAN}`],
    ['CustomerId', 205, `cust-${PAN}`],
    ['CardOwner', 210, `Jane ${PAN}`],
    ['Firstname', 211, PAN],
    ['Lastname', 212, PAN],
    ['Address', 213, `${PAN} rue de la Paix`],
    ['ZipCode', 214, PAN],
    ['City', 215, PAN],
    ['BirthPlace', 219, PAN],
  ];
  const looksLikeCard = (code: number, field: string) => ({
    code,
    message: `Invalid parameter ${field}: looks like a card number`,
  });

  it.each(CHECKED)(
    '%s holding a card number is refused with %d "looks like a card number"',
    async (field, code, value) => {
      await expect(outcome(body({ [field]: value }))).resolves.toEqual(looksLikeCard(code, field));
    },
  );

  it.each([
    ['with spaces', 'Tid', 202, '4111 1111 1111 1111'],
    ['with dashes', 'Uid', 201, '5555-5555-5555-4444'],
    ['with a dash-glued prefix', 'Tid', 202, 'invoice-2024-4111111111111111'],
    ['of 15 digits (Amex)', 'CustomerId', 205, 'c 378282246310005'],
    ['of 13 digits', 'Description', 204, 'card 4222222222222 used'],
    ['of 19 digits', 'Description', 204, '6011 0000 0000 0000 001'],
    ['behind leading zeros', 'Tid', 202, '0004111111111111111'],
  ])('a card number %s is refused', async (_label, field, code, value) => {
    await expect(outcome(body({ [field]: value }))).resolves.toEqual(looksLikeCard(code, field));
  });

  it.each([
    ['a 16-digit run failing Luhn', 'Tid', '4111111111111112'],
    ['a 12-digit Luhn-valid run', 'Tid', 'order-411111111117'],
    ['a 20-digit run', 'Uid', '41111111111111110000'],
    ['13 zeros (Luhn-valid, but no card starts with 0)', 'ZipCode', '0000000000000'],
    // 12345678-1234-4129 is 16 Luhn-valid digits, but in 8-4-4 groups: a UUID, not a card written out.
    ['a UUID whose digit groups pass Luhn', 'Tid', 'order-12345678-1234-4129-8abc-0123456789ab'],
    ['digits inside a hex id', 'CustomerId', 'a4111111111111111f'],
    ['short numbers apart', 'Description', 'Order 2026-06-15, 3 items, ref 42'],
  ])('%s is accepted', async (_label, field, value) => {
    await expect(outcome(body({ [field]: value }))).resolves.toEqual(accepted);
  });

  it('other structured fields keep their own formats: a Luhn-valid phone number is accepted', async () => {
    await expect(outcome(body({ Phone: '+4111 1111 1111 1111' }))).resolves.toEqual(accepted);
  });

  it('is checked in field order with the other formats', async () => {
    await expect(outcome(body({ Amount: '12.34', Tid: PAN }))).resolves.toEqual(invalid(200, 'Amount'));
    await expect(outcome(body({ Tid: PAN, Email: 'nope', Uid: '5555555555554444' }))).resolves.toEqual(
      looksLikeCard(201, 'Uid'),
    );
  });

  it('takes precedence over the length limit of the same field', async () => {
    await expect(outcome(body({ Description: `${'d'.repeat(250)} ${PAN}` }))).resolves.toEqual(
      looksLikeCard(204, 'Description'),
    );
  });
});

describe('card data never appears in an error (SECURITY.md)', () => {
  it.each([
    ['a Luhn-invalid card number', { CardNumber: '4111111111111112' }, '4111111111111112'],
    ['a card number of 12 digits', { CardNumber: '411111111111' }, '411111111111'],
    ['an expired card', { CardYear: String(THIS_YEAR - 1) }, '4111111111111111'],
    ['a malformed CVV', { CardCVV: '98765' }, '98765'],
    ['a Maestro card without 3DS', { CardNumber: MAESTRO }, MAESTRO],
  ])('the message for %s does not echo the card data', async (_label, overrides, secret) => {
    const { code, message } = await outcome(body(overrides));
    expect(code).not.toBe(0);
    expect(message).not.toContain(secret);
    expect(message).not.toMatch(/[0-9]{3,}/);
  });
});

describe('accepted boundary values', () => {
  it.each([
    ['Amount of 1', { Amount: '1' }],
    ['Uid of 64 characters', { Uid: 'u'.repeat(64) }],
    ['Tid of 64 characters', { Tid: 't'.repeat(64) }],
    ['Description of 256 characters', { Description: 'd'.repeat(256) }],
    ['CustomerId of 64 characters', { CustomerId: 'c'.repeat(64) }],
    ['CardOwner of 64 characters', { CardOwner: 'o'.repeat(64) }],
    ['Address of 128 characters', { Address: 'a'.repeat(128) }],
    ['ZipCode of 16 characters', { ZipCode: '1'.repeat(16) }],
    ['Phone of 32 characters', { Phone: '1'.repeat(32) }],
    ['13-digit card number', { CardNumber: '4222222222222' }],
    ['CardMonth 1', { CardMonth: '1' }],
    ['CardMonth 01', { CardMonth: '01' }],
    ['four-digit CVV', { CardCVV: '1234' }],
    ['BirthDate on a leap day', { BirthDate: '2000-02-29' }],
    ['BirthDate of today', { BirthDate: '2026-06-15' }],
    ['ClientIp of 15 characters', { ClientIp: '255.255.255.255' }],
    ['Country in lower case', { Country: 'fra' }],
    ['3DS=no without ReturnUrl', { '3DS': 'no' }],
  ])('accepts %s', async (_label, overrides) => {
    await expect(outcome(body(overrides))).resolves.toEqual(accepted);
  });

  it.each([
    ['spaces', '4111 1111 1111 1111'],
    ['dashes', '4111-1111-1111-1111'],
    ['spaces and dashes', '4111 - 1111 - 1111 - 1111'],
  ])('accepts a card number with %s and returns it as digits only', async (_label, number) => {
    const parsed = await validate(body({ CardNumber: number }));
    expect(parsed.card.number).toBe('4111111111111111');
  });

  it('reads a two-digit CardYear as this century', async () => {
    const parsed = await validate(body({ CardYear: CARD_YEAR.slice(2) }));
    expect(parsed.card.year).toBe(THIS_YEAR + 2);
  });

  it.each([
    ['this year, last month (four digits)', String(THIS_YEAR), '5', EXPIRED_MESSAGE],
    ['this year, last month (two digits)', String(THIS_YEAR).slice(2), '05', EXPIRED_MESSAGE],
    ['this year, January', String(THIS_YEAR), '1', EXPIRED_MESSAGE],
  ])('a card expiring %s is expired (208)', async (_label, year, month, message) => {
    await expect(outcome(body({ CardYear: year, CardMonth: month }))).resolves.toEqual({ code: 208, message });
  });

  it.each([
    ['this year, this month', String(THIS_YEAR), '6'],
    ['this year, this month (two digits)', String(THIS_YEAR).slice(2), '06'],
    ['this year, next month', String(THIS_YEAR), '7'],
    ['next year, January', String(THIS_YEAR + 1), '1'],
  ])('a card expiring %s is still valid', async (_label, year, month) => {
    await expect(outcome(body({ CardYear: year, CardMonth: month }))).resolves.toEqual(accepted);
  });
});

describe('yes/no fields are case-insensitive', () => {
  it.each(['yes', 'Yes', 'YES', 'yEs'])('3DS=%s turns 3D Secure on', async (value) => {
    const parsed = await validate(body({ '3DS': value, ReturnUrl: 'https://shop.example.com/return' }));
    expect(parsed.threeDS).toBe(true);
  });

  it.each(['no', 'No', 'NO'])('3DS=%s leaves 3D Secure off', async (value) => {
    const parsed = await validate(body({ '3DS': value }));
    expect(parsed.threeDS).toBe(false);
  });

  it.each(['Yes', 'YES'])('OneClick and ConvertCurrency sent as %s are read as yes', async (value) => {
    const parsed = await validate(body({ OneClick: value, ConvertCurrency: value }));
    expect(parsed).toMatchObject({ oneClick: true, convertCurrency: true });
  });
});

describe('validation order between fields', () => {
  it.each([
    ['Amount and CardCVV', { Amount: 'abc', CardCVV: '1' }, invalid(200, 'Amount')],
    ['CardCVV and Country', { CardCVV: '1', Country: 'XX' }, invalid(209, 'CardCVV')],
    ['Email and CardNumber', { CardNumber: '4111111111111112', Email: 'nope' }, invalid(203, 'Email')],
    ['ClientIp and ReturnUrl', { ReturnUrl: 'nope', ClientIp: 'nope' }, invalid(220, 'ClientIp')],
    ['CardNumber and CardYear', { CardYear: '1999', CardNumber: '1234' }, { code: 206, message: LUHN_MESSAGE }],
  ])('with %s both malformed, the earlier field in field order is reported', async (_label, overrides, expected) => {
    await expect(outcome(body(overrides))).resolves.toEqual(expected);
  });

  it('the body key order does not change which malformed field is reported', async () => {
    const input: Body = { Country: 'XX', ...body(), CardCVV: '1' };
    await expect(outcome(input)).resolves.toEqual(invalid(209, 'CardCVV'));
  });
});

describe('cross-field rules: 106, 8, 22, 222', () => {
  const returnUrl = 'https://shop.example.com/return';

  it('3DS=yes without ReturnUrl is refused with 106', async () => {
    await expect(outcome(body({ '3DS': 'yes' }))).resolves.toEqual({
      code: 106,
      message: 'ReturnUrl is mandatory with 3DS=yes',
    });
  });

  it('3DS=yes on an account with 3DS disabled is refused with 8', async () => {
    await expect(outcome(body({ '3DS': 'yes', ReturnUrl: returnUrl }), { threeDSAllowed: false })).resolves.toEqual({
      code: 8,
      message: '3DSecure not allowed on this account',
    });
  });

  it('3DS=no on an account with 3DS disabled is accepted', async () => {
    await expect(outcome(body({ '3DS': 'no' }), { threeDSAllowed: false })).resolves.toEqual(accepted);
  });

  it('106 is reported before 8', async () => {
    await expect(outcome(body({ '3DS': 'yes' }), { threeDSAllowed: false })).resolves.toMatchObject({ code: 106 });
  });

  it.each([
    ['without 3DS', {}],
    ['with 3DS=no', { '3DS': 'no' }],
  ])('a Maestro card %s is refused with 22 "Maestro cards require 3DSecure"', async (_label, extra) => {
    await expect(outcome(body({ CardNumber: MAESTRO, ...extra }))).resolves.toEqual({
      code: 22,
      message: 'Maestro cards require 3DSecure',
    });
  });

  it('a Maestro card with 3DS=yes and a ReturnUrl is accepted as maestro', async () => {
    const parsed = await validate(body({ CardNumber: MAESTRO, '3DS': 'yes', ReturnUrl: returnUrl }));
    expect(parsed.card).toMatchObject({ number: MAESTRO, brand: 'maestro' });
    expect(parsed.threeDS).toBe(true);
  });

  it('8 is reported before the Maestro rule (22)', async () => {
    await expect(
      outcome(body({ CardNumber: MAESTRO, '3DS': 'yes', ReturnUrl: returnUrl }), { threeDSAllowed: false }),
    ).resolves.toMatchObject({ code: 8 });
  });

  it('a field the merchant configuration requires is refused with 222 when absent', async () => {
    await expect(outcome(body(), { requiredFields: ['BirthDate'] })).resolves.toEqual({
      code: 222,
      message: 'Merchant configuration requires BirthDate',
    });
  });

  it('a field the merchant configuration requires is accepted when present', async () => {
    await expect(outcome(body({ BirthDate: '1990-01-01' }), { requiredFields: ['BirthDate'] })).resolves.toEqual(
      accepted,
    );
  });

  it('a required field sent empty counts as absent (222)', async () => {
    await expect(outcome(body({ BirthDate: '  ' }), { requiredFields: ['BirthDate'] })).resolves.toMatchObject({
      code: 222,
    });
  });

  it('with several required fields absent, the first in field order is named', async () => {
    await expect(outcome(body(), { requiredFields: ['BirthPlace', 'Country'] })).resolves.toEqual({
      code: 222,
      message: 'Merchant configuration requires Country',
    });
  });
});

describe('account limits: 300 and 7', () => {
  it('an amount above the per-transaction limit is refused with 300', async () => {
    await expect(outcome(body({ Amount: '1001' }), { maxAmount: 1000 })).resolves.toEqual({
      code: 300,
      message: "Amount exceeds merchant's per-transaction limit",
    });
  });

  it('an amount equal to the per-transaction limit is accepted', async () => {
    await expect(outcome(body({ Amount: '1000' }), { maxAmount: 1000 })).resolves.toEqual(accepted);
  });

  it('a live payment with no live processor connector is refused with 7', async () => {
    await expect(outcome(body(), { mode: 'live', liveConnector: null })).resolves.toEqual({
      code: 7,
      message: expect.stringMatching(/^Invalid account configuration/),
    });
  });

  it('a live payment with a live connector is accepted', async () => {
    await expect(outcome(body(), LIVE)).resolves.toEqual(accepted);
  });

  it('300 is reported before 7', async () => {
    await expect(outcome(body({ Amount: '5000' }), { maxAmount: 1000, ...LIVE_UNCONFIGURED })).resolves.toMatchObject({
      code: 300,
    });
  });
});

describe('check order across stages', () => {
  it('a format error (203) is reported before cross-field (106) and account (300, 7) errors', async () => {
    const input = body({ Email: 'nope', '3DS': 'yes', Amount: '5000' });
    await expect(outcome(input, { maxAmount: 1000, ...LIVE_UNCONFIGURED })).resolves.toEqual(invalid(203, 'Email'));
  });

  it('a flow-control format error (221) is reported before cross-field errors (106)', async () => {
    await expect(outcome(body({ '3DS': 'perhaps', CardNumber: MAESTRO }))).resolves.toEqual(invalid(221, '3DS'));
  });

  it('a cross-field error (106) is reported before account errors (300, 7)', async () => {
    await expect(
      outcome(body({ '3DS': 'yes', Amount: '5000' }), { maxAmount: 1000, ...LIVE_UNCONFIGURED }),
    ).resolves.toMatchObject({ code: 106 });
  });

  it('the Maestro rule (22) is reported before the amount limit (300)', async () => {
    await expect(outcome(body({ CardNumber: MAESTRO, Amount: '5000' }), { maxAmount: 1000 })).resolves.toMatchObject({
      code: 22,
    });
  });

  it('a merchant-required field (222) is reported before an account error (7)', async () => {
    await expect(outcome(body(), { requiredFields: ['Phone'], ...LIVE_UNCONFIGURED })).resolves.toEqual({
      code: 222,
      message: 'Merchant configuration requires Phone',
    });
  });
});

describe('ReturnUrl and CallbackUrl in live mode', () => {
  it.each([
    ['plain http', 'http://shop.example.com/return'],
    ['https to loopback 127.0.0.1', 'https://127.0.0.1/'],
    ['https to a private address 10.0.0.1', 'https://10.0.0.1/'],
    ['https to the metadata address 169.254.169.254', 'https://169.254.169.254/'],
    ['https to IPv6 loopback [::1]', 'https://[::1]/'],
    ['https to localhost', 'https://localhost/'],
    ['https to an .internal name', 'https://shop.internal/'],
  ])('a live ReturnUrl over %s is refused with 221', async (_label, url) => {
    await expect(outcome(body({ ReturnUrl: url }), LIVE)).resolves.toEqual(invalid(221, 'ReturnUrl'));
  });

  it.each([
    ['plain http', 'http://shop.example.com/hook'],
    ['https to a private address 192.168.1.10', 'https://192.168.1.10/hook'],
    ['https to localhost', 'https://localhost:8443/hook'],
  ])('a live CallbackUrl over %s is refused with 221', async (_label, url) => {
    await expect(outcome(body({ CallbackUrl: url }), LIVE)).resolves.toEqual(invalid(221, 'CallbackUrl'));
  });

  it('a live https URL to a public IP address is accepted', async () => {
    const parsed = await validate(
      body({ ReturnUrl: 'https://93.184.216.34/return', CallbackUrl: 'https://8.8.8.8/hook' }),
      LIVE,
    );
    expect(parsed).toMatchObject({ returnUrl: 'https://93.184.216.34/return', callbackUrl: 'https://8.8.8.8/hook' });
  });

  it.each([
    ['http://localhost:8080/return', 'ReturnUrl'],
    ['http://127.0.0.1:9000/hook', 'CallbackUrl'],
    ['http://10.0.0.1/hook', 'CallbackUrl'],
  ])('in sandbox (test mode) %s is accepted as %s', async (url, field) => {
    await expect(outcome(body({ [field]: url }))).resolves.toEqual(accepted);
  });
});

describe('customer details for the processor and the payment record', () => {
  it('carries every customer and order field that was sent, and no card data', async () => {
    const request = await validate(body(BILLING_FIELDS));
    const details = customerDetails(request);
    expect(details).toEqual(BILLING_CUSTOMER);
    expect(JSON.stringify(details)).not.toMatch(/4111|"123"|cvv|month|year/i);
  });

  it('leaves out what was not sent, rather than storing empty values', async () => {
    expect(customerDetails(await validate(body({ City: 'Paris' })))).toEqual({
      email: 'jane@example.com',
      city: 'Paris',
    });
  });
});
