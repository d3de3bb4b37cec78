import { cardBrand, digitsOnly, luhnValid, maskPan } from '../../src/epro/card';
import { failure, eproDate, success } from '../../src/epro/envelope';
import { EproError, errors } from '../../src/epro/errors';
import { currencyExponent, toMajorUnits } from '../../src/epro/money';
import { paymentResult, refundResult } from '../../src/epro/result';

/** Card helpers (docs/sandbox.md, SECURITY.md) and money on the wire (docs/fields.md). */

const CONTRACT_TEST_CARDS = [
  '4111111111111111',
  '4242424242424242',
  '5555555555554444',
  '4000000000000002',
  '4000000000009995',
  '4000000000000069',
  '4000000000000119',
  '4000000000003220',
  '4000008400001629',
  '6759649826438453',
];

describe('luhnValid', () => {
  it.each(CONTRACT_TEST_CARDS)('accepts the contract test card %s', (card) => {
    expect(luhnValid(card)).toBe(true);
  });

  it.each(['378282246310005', '2221000000000009', '4222222222222', '79927398713'])(
    'accepts the Luhn-valid number %s',
    (number) => {
      expect(luhnValid(number)).toBe(true);
    },
  );

  it.each(CONTRACT_TEST_CARDS)('rejects %s with any single digit changed', (card) => {
    for (let position = 0; position < card.length; position++) {
      for (let delta = 1; delta <= 9; delta++) {
        const digit = (Number(card[position]) + delta) % 10;
        const altered = `${card.slice(0, position)}${digit}${card.slice(position + 1)}`;
        expect({ altered, valid: luhnValid(altered) }).toEqual({ altered, valid: false });
      }
    }
  });

  it.each([
    ['4111111111111112', 'last digit changed'],
    ['4111111111111121', 'last two digits swapped'],
    ['5555555555554445', 'last digit changed'],
    ['79927398710', 'check digit off by 3'],
  ])('rejects %s (%s)', (number) => {
    expect(luhnValid(number)).toBe(false);
  });
});

describe('cardBrand', () => {
  it.each([
    ['4111111111111111', 'visa'],
    ['4242424242424242', 'visa'],
    ['5555555555554444', 'mastercard'],
    ['2221000000000009', 'mastercard'],
    ['6759649826438453', 'maestro'],
    ['378282246310005', 'amex'],
  ])('recognises %s as %s', (number, brand) => {
    expect(cardBrand(number)).toBe(brand);
  });

  it('recognises every contract test card beginning with 4 as visa', () => {
    for (const card of CONTRACT_TEST_CARDS.filter((c) => c.startsWith('4'))) expect(cardBrand(card)).toBe('visa');
  });

  it('answers unknown for a number of no known brand', () => {
    expect(cardBrand('9999999999999995')).toBe('unknown');
  });
});

describe('digitsOnly', () => {
  it.each([
    ['4111 1111 1111 1111', '4111111111111111'],
    ['4111-1111-1111-1111', '4111111111111111'],
    [' 4111 - 1111\t1111 1111 ', '4111111111111111'],
    ['4111111111111111', '4111111111111111'],
  ])('removes spaces and dashes from %j', (raw, expected) => {
    expect(digitsOnly(raw)).toBe(expected);
  });
});

describe('maskPan', () => {
  it.each([
    ['4111111111111111', '411111******1111'],
    ['5555555555554444', '555555******4444'],
    ['378282246310005', '378282*****0005'],
    ['4222222222222', '422222***2222'],
    ['4000000000000000006', '400000*********0006'],
  ])('masks %s as %s (first 6 and last 4 only)', (pan, masked) => {
    expect(maskPan(pan)).toBe(masked);
  });

  it.each(['1234567890123456', '4000008400001629', '6759649826438453', '1234567890123', '1234567890123456789'])(
    'never shows a middle digit of %s and keeps its length',
    (pan) => {
      const masked = maskPan(pan);
      expect(masked).toHaveLength(pan.length);
      expect(masked.slice(0, 6)).toBe(pan.slice(0, 6));
      expect(masked.slice(-4)).toBe(pan.slice(-4));
      expect(masked.slice(6, -4)).toMatch(/^\*+$/);
      expect(masked.replace(/\*/g, '')).toBe(pan.slice(0, 6) + pan.slice(-4));
    },
  );
});

describe('toMajorUnits', () => {
  it.each([
    [1234, 'EUR', 12.34],
    [5, 'EUR', 0.05],
    [50, 'EUR', 0.5],
    [100, 'EUR', 1],
    [1, 'EUR', 0.01],
    [0, 'EUR', 0],
    [4999, 'USD', 49.99],
    [1234, 'JPY', 1234],
    [5, 'JPY', 5],
    [1234, 'KWD', 1.234],
    [5, 'KWD', 0.005],
    [1000, 'KWD', 1],
    [9007199254740, 'EUR', 90071992547.4],
    [9007199254740991, 'EUR', 90071992547409.91],
    [9007199254740991, 'JPY', 9007199254740991],
  ])('%d minor units of %s are %d major units', (minor, currency, major) => {
    expect(toMajorUnits(minor, currency)).toBe(major);
  });

  it('serialises to the exact decimal in JSON (no float noise)', () => {
    expect(JSON.stringify({ Amount: toMajorUnits(1234, 'EUR') })).toBe('{"Amount":12.34}');
    expect(JSON.stringify({ Amount: toMajorUnits(9007199254740, 'EUR') })).toBe('{"Amount":90071992547.4}');
    expect(JSON.stringify({ Amount: toMajorUnits(1, 'KWD') })).toBe('{"Amount":0.001}');
    for (let minor = 0; minor <= 10_000; minor++) {
      const expected = `${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, '0')}`;
      expect(toMajorUnits(minor, 'EUR')).toBe(Number(expected));
    }
  });

  it.each([
    ['EUR', 2],
    ['USD', 2],
    ['JPY', 0],
    ['KRW', 0],
    ['KWD', 3],
    ['BHD', 3],
  ])('uses exponent %s → %d', (currency, exponent) => {
    expect(currencyExponent(currency)).toBe(exponent);
  });
});

describe('E-PRO envelope and results', () => {
  const payment = {
    tid: 'order-1',
    reference: 'pr_abcdefghijklmnopqrst',
    uid: 'customer-42',
    amount: 4999,
    currency: 'EUR',
  };
  const date = new Date('2026-04-22T14:30:45.123Z');

  it('formats dates as YYYY-MM-DD HH:mm:ss in UTC', () => {
    expect(eproDate(date)).toBe('2026-04-22 14:30:45');
    expect(eproDate(new Date('2026-01-02T03:04:05+02:00'))).toBe('2026-01-02 01:04:05');
  });

  it('wraps a result as {"Code":0,"Result":…} with a numeric Code', () => {
    expect(JSON.stringify(success({ a: 1 }))).toBe('{"Code":0,"Result":{"a":1}}');
  });

  it('wraps an EproError as {"Code":N,"Error":message}', () => {
    expect(failure(errors.missingParameter('CardNumber'))).toEqual({ Code: 5, Error: 'Missing parameter CardNumber' });
    expect(failure(new EproError(206, 'Invalid parameter CardNumber, check format or Luhn algorithm'))).toEqual({
      Code: 206,
      Error: 'Invalid parameter CardNumber, check format or Luhn algorithm',
    });
  });

  it('answers a payment with the amount in major units and the UTC date', () => {
    expect(
      paymentResult(payment, { status: 'captured', message: 'Payment was successful', date }, { used: false }),
    ).toEqual({
      OperationType: 'payment',
      Status: 'captured',
      Tid: 'order-1',
      Reference: 'pr_abcdefghijklmnopqrst',
      Amount: 49.99,
      Currency: 'EUR',
      UserId: 'customer-42',
      Message: 'Payment was successful',
      Date: '2026-04-22 14:30:45',
      '3DSecure': 'no',
    });
  });

  it('adds 3DSecure "yes" and the 3DSecureUrl when a challenge is pending', () => {
    const result = paymentResult(
      payment,
      { status: 'pending', message: 'Pending', date },
      { used: true, url: 'http://127.0.0.1:3000/3ds/x' },
    );
    expect(result).toMatchObject({
      Status: 'pending',
      '3DSecure': 'yes',
      '3DSecureUrl': 'http://127.0.0.1:3000/3ds/x',
    });
  });

  it('answers a refund with the refund reference and the payment amount in major units', () => {
    const result = refundResult(
      { ...payment, currency: 'JPY', amount: 1234 },
      { reference: 'ref_abcdefghijklmnopqrst', status: 'captured', message: 'Payment refunded', date },
    );
    expect(result).toEqual({
      OperationType: 'refund',
      Status: 'captured',
      Tid: 'order-1',
      Reference: 'ref_abcdefghijklmnopqrst',
      Amount: 1234,
      Currency: 'JPY',
      UserId: 'customer-42',
      Message: 'Payment refunded',
      Date: '2026-04-22 14:30:45',
    });
  });
});
