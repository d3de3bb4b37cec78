/**
 * How amounts and dates read on the pages. Amounts arrive in integer minor units; the major-unit text comes from
 * the same ISO 4217 exponents as the E-PRO wire (src/epro/money.ts), then the browser's locale adds the symbol.
 */
import { currencyExponent, formatMajorUnits } from '../epro/money';

export function formatAmount(minor: number, currency: string): string {
  const digits = currencyExponent(currency);
  try {
    return new Intl.NumberFormat(undefined, {
      style: 'currency',
      currency,
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(formatMajorUnits(minor, currency) as `${number}`);
  } catch {
    return `${formatMajorUnits(minor, currency)} ${currency}`;
  }
}

/** "12.50" in the currency's major units → 1250 minor units; undefined when the text is no amount. */
export function toMinorUnits(text: string, currency: string): number | undefined {
  const exponent = currencyExponent(currency);
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match) return undefined;
  const fraction = match[2] ?? '';
  if (fraction.length > exponent) return undefined;
  return Number(`${match[1]}${fraction.padEnd(exponent, '0')}`);
}

export function fromMinorUnits(minor: number, currency: string): string {
  return formatMajorUnits(minor, currency);
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const day = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : dateTime.format(date);
}

/** A day of the overview ("2026-11-30", a UTC day) as "30 Nov". */
export function formatDay(isoDate: string): string {
  const date = new Date(`${isoDate.slice(0, 10)}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? isoDate : day.format(date);
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

export function formatPercent(rate: number | null): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(1)} %`;
}

export const STATUS_LABELS: Record<string, string> = {
  pending: 'Pending',
  authorized: 'Authorized',
  captured: 'Captured',
  failed: 'Failed',
  cancelled: 'Cancelled',
  rejected_pw: 'Rejected (3DS)',
};

export const TIMELINE_LABELS: Record<string, string> = {
  accepted: 'Accepted',
  '3ds_requested': '3-D Secure asked',
  '3ds_answered': '3-D Secure answered',
  authorized: 'Authorized',
  captured: 'Captured',
  failed: 'Failed',
  cancelled: 'Cancelled',
  refund_requested: 'Refund requested',
  refunded: 'Refunded',
  refund_failed: 'Refund failed',
};
