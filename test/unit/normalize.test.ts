import { FIELD_ALIASES, LOOKUP_FIELDS, PAYMENT_FIELDS, type PaymentFieldName } from '../../src/epro/fields';
import { INVALID, normalizeFields, scalarValue } from '../../src/epro/normalize';

/**
 * Field-name normalization (docs/fields.md, field names): every canonical name matches
 * case-insensitively, plus the documented aliases; the exact canonical spelling beats a variant; values are
 * trimmed; numbers become strings; anything else that is not a string is INVALID; unknown fields are dropped.
 */

const PAYMENT_NAMES: readonly PaymentFieldName[] = PAYMENT_FIELDS.map((f) => f.name);

const normalizePayment = (body: Record<string, unknown>) => normalizeFields(body, PAYMENT_NAMES);

/** `Amount` → `aMoUnT`: a casing that is neither canonical, lower nor upper case. */
function mixedCase(name: string): string {
  return [...name].map((c, i) => (i % 2 === 0 ? c.toLowerCase() : c.toUpperCase())).join('');
}

describe('PAYMENT_FIELDS', () => {
  it('lists the E-PRO fields in the contract validation order with their per-field codes', () => {
    expect(PAYMENT_FIELDS.map((f) => [f.name, f.code])).toEqual([
      ['Amount', 200],
      ['Uid', 201],
      ['Tid', 202],
      ['Email', 203],
      ['Description', 204],
      ['CustomerId', 205],
      ['CardNumber', 206],
      ['CardMonth', 207],
      ['CardYear', 208],
      ['CardCVV', 209],
      ['CardOwner', 210],
      ['Firstname', 211],
      ['Lastname', 212],
      ['Address', 213],
      ['ZipCode', 214],
      ['City', 215],
      ['Country', 216],
      ['Phone', 217],
      ['BirthDate', 218],
      ['BirthPlace', 219],
      ['ClientIp', 220],
      ['ReturnUrl', 221],
      ['CallbackUrl', 221],
      ['3DS', 221],
      ['OneClick', 221],
      ['OriginalAmount', 221],
      ['OriginalCurrency', 221],
      ['ConvertCurrency', 221],
    ]);
  });

  it('marks exactly Amount, Uid, Tid, Email, CardNumber, CardMonth, CardYear and CardCVV as required', () => {
    expect(PAYMENT_FIELDS.filter((f) => f.required).map((f) => f.name)).toEqual([
      'Amount',
      'Uid',
      'Tid',
      'Email',
      'CardNumber',
      'CardMonth',
      'CardYear',
      'CardCVV',
    ]);
  });

  it('carries the maximum lengths of docs/fields.md', () => {
    const maxLengths = Object.fromEntries(
      PAYMENT_FIELDS.filter((f) => 'maxLength' in f).map((f) => [f.name, (f as { maxLength: number }).maxLength]),
    );
    expect(maxLengths).toMatchObject({
      Uid: 64,
      Tid: 64,
      Description: 256,
      CardOwner: 64,
      Firstname: 64,
      Lastname: 64,
      Address: 128,
      ZipCode: 16,
      City: 64,
      Phone: 32,
      BirthDate: 10,
      BirthPlace: 64,
      ClientIp: 15,
    });
  });

  it('declares Ip (in any casing) as the only alias beyond case-insensitive matching', () => {
    expect(FIELD_ALIASES).toEqual({ ip: 'ClientIp' });
  });
});

describe('normalizeFields: case-insensitive canonical names', () => {
  const cases = PAYMENT_NAMES.flatMap((name) =>
    [
      ['canonical', name],
      ['lower case', name.toLowerCase()],
      ['UPPER CASE', name.toUpperCase()],
      ['mixed case', mixedCase(name)],
    ].map(([casing, key]) => ({ name, casing, key: key! })),
  );

  it.each(cases)('$name is recognised when sent as $casing ($key)', ({ name, key }) => {
    expect(normalizePayment({ [key]: 'value' })).toEqual({ [name]: 'value' });
  });
});

describe('normalizeFields: documented variants of docs/fields.md', () => {
  const variants: [string, PaymentFieldName][] = [
    ['FirstName', 'Firstname'],
    ['firstName', 'Firstname'],
    ['firstname', 'Firstname'],
    ['LastName', 'Lastname'],
    ['lastName', 'Lastname'],
    ['lastname', 'Lastname'],
    ['Zipcode', 'ZipCode'],
    ['zipCode', 'ZipCode'],
    ['zipcode', 'ZipCode'],
    ['Birthdate', 'BirthDate'],
    ['birthDate', 'BirthDate'],
    ['birthdate', 'BirthDate'],
    ['Birthplace', 'BirthPlace'],
    ['birthPlace', 'BirthPlace'],
    ['birthplace', 'BirthPlace'],
    ['clientIp', 'ClientIp'],
    ['ClientIP', 'ClientIp'],
    ['Ip', 'ClientIp'],
    ['IP', 'ClientIp'],
    ['ip', 'ClientIp'],
    ['callbackUrl', 'CallbackUrl'],
    ['callbackurl', 'CallbackUrl'],
    ['customerId', 'CustomerId'],
    ['customerID', 'CustomerId'],
    ['ReturnURL', 'ReturnUrl'],
    ['returnurl', 'ReturnUrl'],
    ['CARDCVV', 'CardCVV'],
  ];

  it.each(variants)('%s is collapsed onto the canonical %s', (key, name) => {
    expect(normalizePayment({ [key]: 'value' })).toEqual({ [name]: 'value' });
  });
});

describe('normalizeFields: precedence between spellings', () => {
  it.each([
    ['canonical first', { Firstname: 'exact', firstname: 'variant' }],
    ['variant first', { firstname: 'variant', Firstname: 'exact' }],
    ['two variants around it', { FIRSTNAME: 'variant1', Firstname: 'exact', firstName: 'variant2' }],
  ])('the exact canonical spelling wins over a variant whatever the key order (%s)', (_order, body) => {
    expect(normalizePayment(body)).toEqual({ Firstname: 'exact' });
  });

  it.each([
    ['canonical first', { ClientIp: '1.1.1.1', IP: '2.2.2.2' }],
    ['alias first', { ip: '2.2.2.2', ClientIp: '1.1.1.1' }],
  ])('the exact ClientIp spelling wins over the Ip alias (%s)', (_order, body) => {
    expect(normalizePayment(body)).toEqual({ ClientIp: '1.1.1.1' });
  });

  it('the exact canonical 3DS spelling wins over 3ds', () => {
    expect(normalizePayment({ '3ds': 'no', '3DS': 'yes' })).toEqual({ '3DS': 'yes' });
  });

  it.each([
    [{ firstName: 'first', FIRSTNAME: 'second' }, 'first'],
    [{ FIRSTNAME: 'second', firstName: 'first' }, 'second'],
    [{ firstname: 'a', FirstName: 'b', FIRSTNAME: 'c' }, 'a'],
  ])('between two variants the first in body order wins (%o)', (body, expected) => {
    expect(normalizePayment(body)).toEqual({ Firstname: expected });
  });

  it('between the Ip alias and a casing variant of ClientIp the first in body order wins', () => {
    expect(normalizePayment({ IP: '1.1.1.1', clientip: '2.2.2.2' })).toEqual({ ClientIp: '1.1.1.1' });
    expect(normalizePayment({ clientip: '2.2.2.2', IP: '1.1.1.1' })).toEqual({ ClientIp: '2.2.2.2' });
  });

  it('an empty exact spelling counts as absent and lets a variant through', () => {
    expect(normalizePayment({ Firstname: '  ', firstname: 'Jane' })).toEqual({ Firstname: 'Jane' });
  });

  it('a field sent under several spellings yields exactly one canonical key', () => {
    const fields = normalizePayment({ amount: '1', AMOUNT: '2', Amount: '3', aMoUnT: '4' });
    expect(Object.keys(fields)).toEqual(['Amount']);
  });

  it('returns the fields in canonical field order whatever the body order', () => {
    const fields = normalizePayment({ CardCVV: '123', '3DS': 'no', Amount: '1', email: 'a@b.co', Uid: 'u' });
    expect(Object.keys(fields)).toEqual(['Amount', 'Uid', 'Email', 'CardCVV', '3DS']);
  });
});

describe('normalizeFields: values', () => {
  it.each([
    ['  Jane  ', 'Jane'],
    ['\tJane\n', 'Jane'],
    [' Jane Doe ', 'Jane Doe'],
  ])('trims the value %j to %j', (raw, expected) => {
    expect(normalizePayment({ Firstname: raw })).toEqual({ Firstname: expected });
  });

  it.each([
    [1234, '1234'],
    [12.34, '12.34'],
    [0, '0'],
    [-5, '-5'],
  ])('turns the JSON number %p into the string %j', (raw, expected) => {
    expect(normalizePayment({ Amount: raw })).toEqual({ Amount: expected });
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an empty string', ''],
    ['a whitespace-only string', '   \t\n '],
  ])('treats %s as an absent field', (_label, raw) => {
    const fields = normalizePayment({ Amount: raw, Uid: 'u' });
    expect(fields).toEqual({ Uid: 'u' });
    expect(Object.prototype.hasOwnProperty.call(fields, 'Amount')).toBe(false);
  });

  it.each([
    ['an object', { $gt: '' }],
    ['an empty object', {}],
    ['an array', ['1234']],
    ['an empty array', []],
    ['true', true],
    ['false', false],
    ['NaN', NaN],
    ['Infinity', Infinity],
  ])('marks %s as INVALID rather than dropping or stringifying it', (_label, raw) => {
    expect(normalizePayment({ Amount: raw })).toEqual({ Amount: INVALID });
  });

  it('keeps INVALID for the exact spelling even when a variant carries a good value', () => {
    expect(normalizePayment({ Amount: { $ne: null }, amount: '1234' })).toEqual({ Amount: INVALID });
  });
});

describe('normalizeFields: unknown and hostile keys', () => {
  it.each([
    ['an unknown field', 'Foo'],
    ['a canonical name with a trailing space', 'Amount '],
    ['a longer name that starts like a field', 'CardNumbers'],
    ['an undocumented alias', 'cvv'],
    ['an undocumented alias of ClientIp', 'ClientIpAddress'],
    ['a field of refund/status only', 'Reference'],
  ])('drops %s (%s)', (_label, key) => {
    expect(normalizePayment({ [key]: 'x', Uid: 'u' })).toEqual({ Uid: 'u' });
  });

  it.each(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'])(
    'drops a real own "%s" key from a parsed body and never pollutes any prototype',
    (key) => {
      const body = JSON.parse(`{"${key}": {"polluted": "yes", "Amount": "1"}, "Uid": "u"}`) as Record<string, unknown>;
      expect(Object.prototype.hasOwnProperty.call(body, key)).toBe(true);

      const fields = normalizePayment(body);

      expect(fields).toEqual({ Uid: 'u' });
      expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
      expect(Object.keys(fields)).toEqual(['Uid']);
      expect((fields as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
    },
  );

  it('drops a __proto__ key carrying a plain string value', () => {
    const body = JSON.parse('{"__proto__": "1234", "Tid": "t"}') as Record<string, unknown>;
    expect(normalizePayment(body)).toEqual({ Tid: 't' });
  });
});

describe('normalizeFields with LOOKUP_FIELDS (refund and status)', () => {
  it('declares Reference then Tid', () => {
    expect(LOOKUP_FIELDS).toEqual(['Reference', 'Tid']);
  });

  it.each(['Reference', 'reference', 'REFERENCE', 'rEfErEnCe'])('recognises Reference sent as %s', (key) => {
    expect(normalizeFields({ [key]: ' pr_abc ' }, LOOKUP_FIELDS)).toEqual({ Reference: 'pr_abc' });
  });

  it.each(['Tid', 'tid', 'TID', 'tId'])('recognises Tid sent as %s', (key) => {
    expect(normalizeFields({ [key]: ' order-1 ' }, LOOKUP_FIELDS)).toEqual({ Tid: 'order-1' });
  });

  it('keeps both identifiers when both are sent', () => {
    expect(normalizeFields({ Tid: 'order-1', Reference: 'pr_abc' }, LOOKUP_FIELDS)).toEqual({
      Reference: 'pr_abc',
      Tid: 'order-1',
    });
  });

  it('prefers the exact Tid spelling over tid whatever the order', () => {
    expect(normalizeFields({ tid: 'variant', Tid: 'exact' }, LOOKUP_FIELDS)).toEqual({ Tid: 'exact' });
  });

  it('turns a numeric Tid into a string', () => {
    expect(normalizeFields({ Tid: 42 }, LOOKUP_FIELDS)).toEqual({ Tid: '42' });
  });

  it('marks a non-scalar Reference as INVALID', () => {
    expect(normalizeFields({ Reference: { $ne: null } }, LOOKUP_FIELDS)).toEqual({ Reference: INVALID });
  });

  it('drops payment fields and payment aliases (Amount, Ip) from a lookup body', () => {
    expect(normalizeFields({ Amount: '1', Ip: '1.1.1.1', IP: '1.1.1.1', Tid: 't' }, LOOKUP_FIELDS)).toEqual({
      Tid: 't',
    });
  });

  it('treats empty identifiers as absent', () => {
    expect(normalizeFields({ Tid: '  ', Reference: '' }, LOOKUP_FIELDS)).toEqual({});
  });
});

describe('scalarValue', () => {
  it.each([
    ['a string, trimmed', '  a b ', 'a b'],
    ['an integer', 1234, '1234'],
    ['a decimal', 12.34, '12.34'],
    ['an empty string', '', ''],
  ])('returns %s as a string', (_label, raw, expected) => {
    expect(scalarValue(raw)).toBe(expected);
  });

  it.each([null, undefined])('returns undefined for %p', (raw) => {
    expect(scalarValue(raw)).toBeUndefined();
  });

  it.each([
    ['an object', { a: 1 }],
    ['an array', [1]],
    ['a boolean', true],
    ['NaN', NaN],
    ['-Infinity', -Infinity],
    ['a bigint', BigInt(1)],
    ['a function', () => 1],
  ])('returns INVALID for %s', (_label, raw) => {
    expect(scalarValue(raw)).toBe(INVALID);
  });
});
