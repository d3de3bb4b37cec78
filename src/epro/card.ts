/** Card number helpers. Only `maskPan` output and the brand may leave the vault boundary (PCI-DSS). */

export function digitsOnly(cardNumber: string): string {
  return cardNumber.replace(/[\s-]/g, '');
}

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export type CardBrand = 'visa' | 'mastercard' | 'maestro' | 'amex' | 'discover' | 'jcb' | 'diners' | 'unknown';

// Maestro is checked before Mastercard and Discover: its IINs sit inside ranges those brands share.
const BRAND_PREFIXES: [CardBrand, RegExp][] = [
  ['maestro', /^(5018|5020|5038|5893|6304|6759|676[1-3]|0604)/],
  ['amex', /^3[47]/],
  ['diners', /^3(0[0-5]|[68])/],
  ['jcb', /^35(2[89]|[3-8])/],
  ['visa', /^4/],
  ['mastercard', /^(5[1-5]|2(22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))/],
  ['discover', /^(6011|65|64[4-9])/],
];

export function cardBrand(digits: string): CardBrand {
  return BRAND_PREFIXES.find(([, prefix]) => prefix.test(digits))?.[0] ?? 'unknown';
}

/** First six and last four digits, the rest hidden: the only form of a PAN we ever store or show. */
export function maskPan(digits: string): string {
  return `${digits.slice(0, 6)}${'*'.repeat(Math.max(digits.length - 10, 0))}${digits.slice(-4)}`;
}
