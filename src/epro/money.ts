/**
 * Amounts are integer minor units everywhere inside SettleFlow; only the wire shows major units, computed
 * from the currency's ISO 4217 exponent with integer arithmetic and one final division.
 */
const ZERO_DECIMAL = new Set([
  'BIF',
  'CLP',
  'DJF',
  'GNF',
  'ISK',
  'JPY',
  'KMF',
  'KRW',
  'PYG',
  'RWF',
  'UGX',
  'UYI',
  'VND',
  'VUV',
  'XAF',
  'XOF',
  'XPF',
]);
const THREE_DECIMAL = new Set(['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);

export function currencyExponent(currency: string): number {
  if (ZERO_DECIMAL.has(currency)) return 0;
  if (THREE_DECIMAL.has(currency)) return 3;
  return 2;
}

/** EUR 1234 → "12.34", JPY 1234 → "1234": exact decimal text, built from the integer's digits. */
export function formatMajorUnits(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** EUR 1234 → 12.34, JPY 1234 → 1234, as the JSON number the wire shows. Exact below 2^53 minor units. */
export function toMajorUnits(minor: number, currency: string): number {
  return Number(formatMajorUnits(minor, currency));
}
