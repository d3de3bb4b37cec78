import { maskPan } from '../../src/epro/card';
import { decodedHistory, findCardData } from '../support/card-scan';

/**
 * The card-data scanner's one rule (test/support/card-scan.ts), on texts written the ways a leak could be: it must
 * find every PAN and CVV there, and nothing in the legitimate values around them (masked PANs, ids, timestamps).
 *
 * How it was shown to fail (each a change to the scanner, run, reverted): with the previous rule (the ten sandbox
 * card strings and a case-sensitive list of five field names), 21 of these tests fail; without the UUID narrowing
 * or without the letter narrowing, the "ids and digests" test fails; trying whole runs only (no span of groups),
 * `4111 1111 1111 1111 123` and the CVV after it are missed.
 */
const kinds = (text: string) => findCardData(text).map((hit) => hit.kind);
const pans = (text: string) =>
  findCardData(text)
    .filter((hit) => hit.kind === 'pan')
    .map((hit) => hit.value);

describe('card numbers', () => {
  it.each([
    ['a sandbox card', '4111111111111111'],
    ['any Luhn-valid number, not only the test cards', '4929804463622139'],
    ['a 13-digit Visa', '4222222222222'],
    ['a 15-digit Amex', '378282246310005'],
    ['a 19-digit Maestro', '6799990100000000019'],
    ['grouped by spaces', '4111 1111 1111 1111'],
    ['grouped by dashes', '4111-1111-1111-1111'],
    ['Amex grouping', '3782 822463 10005'],
  ])('finds %s', (_what, pan) => {
    expect(pans(pan)).toEqual([pan]);
  });

  it('finds it anywhere in any text: any field name, nested, inside JSON in a string, in a form body or prose', () => {
    expect(pans('{"a":{"b":[{"whatever":"x 4111111111111111 y"}]}}')).toEqual(['4111111111111111']);
    expect(pans('{"n":4111111111111111}')).toEqual(['4111111111111111']);
    expect(pans(JSON.stringify({ log: JSON.stringify({ number: '4242424242424242' }) }))).toEqual(['4242424242424242']);
    expect(pans('Amount=1234&CardNumber=5555555555554444&CardCVV=123')).toEqual(['5555555555554444']);
    expect(pans('authorizing card 4000-0000-0000-0002 for order 17')).toEqual(['4000-0000-0000-0002']);
    expect(pans('{"4111111111111111":true}')).toEqual(['4111111111111111']);
  });

  it('finds a PAN that a CVV, an expiry or an amount follows in the same run of groups', () => {
    expect(pans('4111 1111 1111 1111 123')).toEqual(['4111 1111 1111 1111']);
    expect(pans('12 4111111111111111')).toEqual(['4111111111111111']);
  });

  it('does not take the masked form for a PAN', () => {
    for (const pan of ['4111111111111111', '378282246310005', '6759649826438453'])
      expect(findCardData(`{"maskedPan":"${maskPan(pan)}"}`)).toEqual([]);
    expect(findCardData('411111******1111 411111XXXXXX1111 411111…1111')).toEqual([]);
  });

  it('ignores numbers that fail Luhn or have the wrong length', () => {
    expect(findCardData('4111111111111112 411111111111 41111111111111111111 4111-1111-1111-1112')).toEqual([]);
  });

  it('ignores ids and digests whose digits happen to pass Luhn: UUIDs and hex or base64 tokens', () => {
    // A UUID's leading all-digit groups, joined by its dashes, read as one Luhn-valid 16-digit number here.
    expect(findCardData('"Tid":"order-52345678-1234-4120-8abc-0123456789ab"')).toEqual([]);
    expect(findCardData('sha256=ab4111111111111111cd sig=Zm9v4111111111111111YmFy')).toEqual([]);
    // ISO timestamps, ports, amounts and codes.
    expect(
      findCardData('{"time":"2026-11-30T04:28:14.035Z","port":45678,"Amount":12.34,"Code":104,"pid":11632}'),
    ).toEqual([]);
  });
});

describe('CVVs', () => {
  it.each([
    '{"CardCVV":"123"}',
    '{"cvv":123}',
    '{"card":{"cvc":"1234"}}',
    '{"securityCode":"999"}',
    '{"Security-Code": "999"}',
    '{"CVC2":"456"}',
    JSON.stringify({ nested: JSON.stringify({ card_cvv: '321' }) }),
    'Amount=1234&CardCVV=123&Tid=x',
    "{ cvv: '123' }",
    'security code: 987',
  ])('finds a 3–4 digit value under a CVV key, in any case and form: %s', (text) => {
    expect(kinds(text)).toEqual(['cvv']);
  });

  it('finds a CVV right after a PAN', () => {
    expect(kinds('4111111111111111 123')).toEqual(['pan', 'cvv']);
    expect(kinds('4111111111111111|12/30|123')).toEqual(['pan', 'cvv']);
  });

  it('ignores CVV keys without a CVV value: flags, sealed values, other numbers', () => {
    expect(
      findCardData('{"cvvChecked":true,"sealedCvv":"123AbCdEf+/=","hasCvc":false,"cvv":"12","cvc":"12345"}'),
    ).toEqual([]);
  });
});

describe('history decoding', () => {
  it('decodes payload bytes and base64 data, so a PAN in a payload is visible', () => {
    const payload = Buffer.from(JSON.stringify({ card: '4111111111111111' }));
    expect(
      pans(
        decodedHistory({
          events: [{ input: { payloads: [{ metadata: { encoding: Buffer.from('json/plain') }, data: payload }] } }],
        }),
      ),
    ).toEqual(['4111111111111111']);
    expect(
      pans(
        decodedHistory({
          payloads: [
            { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: payload.toString('base64') },
          ],
        }),
      ),
    ).toEqual(['4111111111111111']);
  });
});
