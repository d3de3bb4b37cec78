import { isIPv4 } from 'node:net';
import * as yup from 'yup';
import type { Mode } from '../../workflows/vocabulary';
import { cardBrand, type CardBrand, digitsOnly, luhnValid } from './card';
import { containsCardNumber } from './card-like';
import { ISO_ALPHA3 } from './countries';
import { errors, type EproError } from './errors';
import { PAYMENT_FIELDS, type PaymentFieldName } from './fields';
import { type FieldValue, INVALID, normalizeFields } from './normalize';
import { isAcceptableLiveUrl, parseHttpUrl } from './url-rules';

/** A payment request that passed every check of the catalog, in typed form. Amounts in minor units. */
export interface PaymentRequest {
  amount: number;
  uid: string;
  tid: string;
  email: string;
  description?: string;
  customerId?: string;
  card: { number: string; month: number; year: number; cvv: string; owner?: string; brand: CardBrand };
  billing: Partial<
    Record<
      | 'firstname'
      | 'lastname'
      | 'address'
      | 'zipCode'
      | 'city'
      | 'country'
      | 'phone'
      | 'birthDate'
      | 'birthPlace'
      | 'clientIp',
      string
    >
  >;
  returnUrl?: string;
  callbackUrl?: string;
  threeDS: boolean;
  oneClick: boolean;
  originalAmount?: number;
  originalCurrency?: string;
  convertCurrency: boolean;
}

/** What the account allows, for the cross-field and account checks. */
export interface AccountRules {
  mode: Mode;
  currency: string;
  maxAmount: number | null;
  threeDSAllowed: boolean;
  requiredFields: readonly string[];
  liveConnector: string | null;
}

export interface ValidationContext {
  account: AccountRules;
  now: Date;
}

// Free-text fields reject control characters: they end up in logs, the Temporal UI and webhook bodies.
const PRINTABLE = /^[^\p{Cc}]*$/u;
const YES_NO = /^(yes|no)$/i;
const LUHN_HINT = 'check format or Luhn algorithm';
const EXPIRED_HINT = 'card expired';
/** The only yup messages shown to merchants, appended to "Invalid parameter X"; other failures stay terse. */
const HINTS = new Set([LUHN_HINT, EXPIRED_HINT]);
/** The hint a field's code always carries when its value is unusable, whatever the reason. */
const FORMAT_HINTS: Partial<Record<PaymentFieldName, string>> = { CardNumber: LUHN_HINT };
const POSITIVE_INTEGER = /^[0-9]+$/;

const text = (max: number) => yup.string().max(max).matches(PRINTABLE);
const positiveInteger = () =>
  yup
    .string()
    .matches(POSITIVE_INTEGER)
    .test((v) => v === undefined || (Number(v) > 0 && Number.isSafeInteger(Number(v))));

function isRealDate(value: string, now: Date): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return (
    date.getUTCFullYear() === year &&
    date.getUTCMonth() === month - 1 &&
    date.getUTCDate() === day &&
    year >= 1900 &&
    date <= now
  );
}

/** Four-digit expiry year: two-digit years are this century's. */
function expiryYear(value: string): number {
  return value.length === 2 ? 2000 + Number(value) : Number(value);
}

function urlSchema(mode: Mode) {
  return yup
    .string()
    .max(2048)
    .test('http-url', '', (v) => v === undefined || parseHttpUrl(v) !== undefined)
    .test('live-public-https', '', async (v) => {
      if (v === undefined || mode !== 'live') return true;
      const url = parseHttpUrl(v);
      return url !== undefined && (await isAcceptableLiveUrl(url));
    });
}

/** One yup schema per field, applied to the trimmed string value. */
function fieldSchemas(
  ctx: ValidationContext,
  fields: Partial<Record<PaymentFieldName, FieldValue>>,
): Record<PaymentFieldName, yup.StringSchema<string | undefined>> {
  const nowYear = ctx.now.getUTCFullYear();
  const nowMonth = ctx.now.getUTCMonth() + 1;
  return {
    Amount: positiveInteger(),
    Uid: text(64),
    Tid: text(64),
    Email: yup.string().max(254).email(),
    Description: text(256),
    CustomerId: text(64),
    CardNumber: yup.string().test('luhn', LUHN_HINT, (v) => {
      if (v === undefined) return true;
      const digits = digitsOnly(v);
      return /^[0-9]{13,19}$/.test(digits) && luhnValid(digits);
    }),
    CardMonth: yup
      .string()
      .matches(/^[0-9]{1,2}$/)
      .test((v) => v === undefined || (Number(v) >= 1 && Number(v) <= 12)),
    CardYear: yup
      .string()
      .matches(/^([0-9]{2}|[0-9]{4})$/)
      .test('not-too-far', '', (v) => v === undefined || expiryYear(v) <= nowYear + 50)
      .test('not-expired', EXPIRED_HINT, (v) => {
        if (v === undefined) return true;
        const year = expiryYear(v);
        const month = Number(fields.CardMonth);
        return year > nowYear || (year === nowYear && month >= nowMonth);
      }),
    CardCVV: yup.string().matches(/^[0-9]{3,4}$/),
    CardOwner: text(64),
    Firstname: text(64),
    Lastname: text(64),
    Address: text(128),
    ZipCode: yup
      .string()
      .max(16)
      .matches(/^[0-9A-Za-z -]+$/),
    City: text(64),
    Country: yup.string().test((v) => v === undefined || ISO_ALPHA3.has(v.toUpperCase())),
    Phone: yup
      .string()
      .max(32)
      .matches(/^\+?[0-9][0-9 ().-]*$/),
    BirthDate: yup
      .string()
      .max(10)
      .test((v) => v === undefined || isRealDate(v, ctx.now)),
    BirthPlace: text(64),
    ClientIp: yup
      .string()
      .max(15)
      .test((v) => v === undefined || isIPv4(v)),
    ReturnUrl: urlSchema(ctx.account.mode),
    CallbackUrl: urlSchema(ctx.account.mode),
    '3DS': yup.string().matches(YES_NO),
    OneClick: yup.string().matches(YES_NO),
    OriginalAmount: positiveInteger(),
    OriginalCurrency: yup.string().matches(/^[A-Za-z]{3}$/),
    ConvertCurrency: yup
      .string()
      .matches(YES_NO)
      // Conversion is offered on EUR accounts only (docs/fields.md).
      .test((v) => v === undefined || v.toLowerCase() === 'no' || ctx.account.currency === 'EUR'),
  };
}

const isYes = (v: FieldValue | undefined) => typeof v === 'string' && v.toLowerCase() === 'yes';

/**
 * Validates a parsed request body in the catalog's order — required fields (5), each field's format in field
 * order (200–221; a field that must not hold a card number and does is refused before its format is looked at),
 * cross-field rules (106, 8, 22, 222), account limits (300, 7) — and throws the first failure.
 * Tid uniqueness (104) is the database's job and comes after this.
 */
export async function validatePaymentRequest(
  body: Record<string, unknown>,
  ctx: ValidationContext,
): Promise<PaymentRequest> {
  const names = PAYMENT_FIELDS.map((f) => f.name);
  const fields = normalizeFields(body, names);

  for (const spec of PAYMENT_FIELDS) {
    if (spec.required && fields[spec.name] === undefined) throw errors.missingParameter(spec.name);
  }

  const schemas = fieldSchemas(ctx, fields);
  for (const spec of PAYMENT_FIELDS) {
    const value = fields[spec.name];
    if (value === undefined) continue;
    if (value === INVALID) throw errors.invalidParameter(spec.code, spec.name, FORMAT_HINTS[spec.name]);
    if ('refuseCardNumbers' in spec && containsCardNumber(value)) throw errors.looksLikeCard(spec.code, spec.name);
    try {
      await schemas[spec.name].validate(value);
    } catch (err) {
      if (!(err instanceof yup.ValidationError)) throw err;
      throw errors.invalidParameter(spec.code, spec.name, HINTS.has(err.message) ? err.message : undefined);
    }
  }

  const str = (name: PaymentFieldName) => fields[name] as string | undefined;
  const cardDigits = digitsOnly(str('CardNumber')!);
  const brand = cardBrand(cardDigits);
  const threeDS = isYes(fields['3DS']);

  const crossField: (EproError | undefined)[] = [
    threeDS && str('ReturnUrl') === undefined ? errors.returnUrlRequired() : undefined,
    threeDS && !ctx.account.threeDSAllowed ? errors.threeDSNotAllowed() : undefined,
    brand === 'maestro' && !threeDS ? errors.maestroRequires3DS() : undefined,
    ...PAYMENT_FIELDS.filter((f) => ctx.account.requiredFields.includes(f.name) && fields[f.name] === undefined).map(
      (f) => errors.merchantRequires(f.name),
    ),
  ];
  const amount = Number(str('Amount'));
  const accountLimits: (EproError | undefined)[] = [
    ctx.account.maxAmount !== null && amount > ctx.account.maxAmount ? errors.amountOverLimit() : undefined,
    ctx.account.mode === 'live' && !ctx.account.liveConnector
      ? errors.invalidAccount('live payments are not set up for this account')
      : undefined,
  ];
  const firstFailure = [...crossField, ...accountLimits].find((e) => e !== undefined);
  if (firstFailure) throw firstFailure;

  const optional = (name: PaymentFieldName) => str(name);
  const billing: PaymentRequest['billing'] = {};
  const billingMap = {
    firstname: 'Firstname',
    lastname: 'Lastname',
    address: 'Address',
    zipCode: 'ZipCode',
    city: 'City',
    country: 'Country',
    phone: 'Phone',
    birthDate: 'BirthDate',
    birthPlace: 'BirthPlace',
    clientIp: 'ClientIp',
  } as const;
  for (const [key, name] of Object.entries(billingMap)) {
    const value = optional(name);
    if (value !== undefined) billing[key as keyof typeof billingMap] = name === 'Country' ? value.toUpperCase() : value;
  }

  return {
    amount,
    uid: str('Uid')!,
    tid: str('Tid')!,
    email: str('Email')!,
    description: optional('Description'),
    customerId: optional('CustomerId'),
    card: {
      number: cardDigits,
      month: Number(str('CardMonth')),
      year: expiryYear(str('CardYear')!),
      cvv: str('CardCVV')!,
      owner: optional('CardOwner'),
      brand,
    },
    billing,
    returnUrl: optional('ReturnUrl'),
    callbackUrl: optional('CallbackUrl'),
    threeDS,
    oneClick: isYes(fields.OneClick),
    originalAmount: optional('OriginalAmount') === undefined ? undefined : Number(optional('OriginalAmount')),
    originalCurrency: optional('OriginalCurrency')?.toUpperCase(),
    convertCurrency: isYes(fields.ConvertCurrency),
  };
}
