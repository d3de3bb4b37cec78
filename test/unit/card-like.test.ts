import { randomBytes, randomUUID } from 'node:crypto';
import { containsCardNumber } from '../../src/epro/card-like';

/** What counts as a card number inside another field (docs/fields.md, "Card numbers in other fields"). */
describe('containsCardNumber', () => {
  it.each([
    '4111111111111111',
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '4111 - 1111 - 1111 - 1111',
    '3782 822463 10005',
    'order-4111111111111111',
    'invoice-2024-4111 1111 1111 1111',
    '4111111111111111@example.com',
    'paid with 5555555555554444, thanks',
    '0004111111111111111',
  ])('finds one in %j', (value) => {
    expect(containsCardNumber(value)).toBe(true);
  });

  it.each([
    ['a Luhn-invalid run', '4111111111111112'],
    ['12 digits', '411111111117'],
    ['a run of more than 19 digits', '41111111111111110000'],
    ['zeros', '0000000000000'],
    ['digits glued to letters', 'order4111111111111111'],
    ['groups longer than 6 digits', '12345678-1234-4129'],
    ['dates and quantities', 'Order 2026-06-15, 3 items, ref 42'],
  ])('finds none in %s', (_label, value) => {
    expect(containsCardNumber(value)).toBe(false);
  });

  // UUIDs and hex ids are the most common identifiers merchants send: none may ever be refused. (Counting dashed
  // groups of any length refused about one UUID in 370.)
  it('never finds one in a UUID or a hex id', () => {
    for (let i = 0; i < 20_000; i++) {
      const uuid = randomUUID();
      const hex = randomBytes(12).toString('hex');
      if (containsCardNumber(`order-${uuid}`) || containsCardNumber(hex)) throw new Error(`refused ${uuid} / ${hex}`);
    }
  });
});
