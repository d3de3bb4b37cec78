/**
 * The payment fields of E-PRO V1, in validation order (docs/fields.md): the first missing required field
 * gives code 5, the first malformed field its own code (200–220, or 221 for flow-control fields).
 */
export interface FieldSpec {
  name: string;
  /** Invalid-parameter code of this field. */
  code: number;
  required: boolean;
  maxLength?: number;
  /**
   * Refused when the value looks like a card number: free text and identifiers the merchant makes up, which are
   * copied into workflow ids, webhooks and logs, and the postal code, whose format could hold one and no real
   * value of which has 13 digits. Other structured fields are left alone; docs/fields.md explains the list.
   */
  refuseCardNumbers?: boolean;
}

export const PAYMENT_FIELDS = [
  { name: 'Amount', code: 200, required: true },
  { name: 'Uid', code: 201, required: true, maxLength: 64, refuseCardNumbers: true },
  { name: 'Tid', code: 202, required: true, maxLength: 64, refuseCardNumbers: true },
  { name: 'Email', code: 203, required: true, maxLength: 254, refuseCardNumbers: true },
  { name: 'Description', code: 204, required: false, maxLength: 256, refuseCardNumbers: true },
  { name: 'CustomerId', code: 205, required: false, maxLength: 64, refuseCardNumbers: true },
  { name: 'CardNumber', code: 206, required: true },
  { name: 'CardMonth', code: 207, required: true },
  { name: 'CardYear', code: 208, required: true },
  { name: 'CardCVV', code: 209, required: true },
  { name: 'CardOwner', code: 210, required: false, maxLength: 64, refuseCardNumbers: true },
  { name: 'Firstname', code: 211, required: false, maxLength: 64, refuseCardNumbers: true },
  { name: 'Lastname', code: 212, required: false, maxLength: 64, refuseCardNumbers: true },
  { name: 'Address', code: 213, required: false, maxLength: 128, refuseCardNumbers: true },
  { name: 'ZipCode', code: 214, required: false, maxLength: 16, refuseCardNumbers: true },
  { name: 'City', code: 215, required: false, maxLength: 64, refuseCardNumbers: true },
  { name: 'Country', code: 216, required: false, maxLength: 3 },
  { name: 'Phone', code: 217, required: false, maxLength: 32 },
  { name: 'BirthDate', code: 218, required: false, maxLength: 10 },
  { name: 'BirthPlace', code: 219, required: false, maxLength: 64, refuseCardNumbers: true },
  { name: 'ClientIp', code: 220, required: false, maxLength: 15 },
  { name: 'ReturnUrl', code: 221, required: false, maxLength: 2048 },
  { name: 'CallbackUrl', code: 221, required: false, maxLength: 2048 },
  { name: '3DS', code: 221, required: false },
  { name: 'OneClick', code: 221, required: false },
  { name: 'OriginalAmount', code: 221, required: false },
  { name: 'OriginalCurrency', code: 221, required: false },
  { name: 'ConvertCurrency', code: 221, required: false },
] as const satisfies readonly FieldSpec[];

export type PaymentFieldName = (typeof PAYMENT_FIELDS)[number]['name'];

/** Refund and status take one identifier each; Reference wins when both are sent. */
export const LOOKUP_FIELDS = ['Reference', 'Tid'] as const;

/** Fields a merchant's account may demand on every payment (`settleflow merchant create --require`). */
export const REQUIRABLE_FIELDS: readonly PaymentFieldName[] = [
  'Description',
  'CustomerId',
  'CardOwner',
  'Firstname',
  'Lastname',
  'Address',
  'ZipCode',
  'City',
  'Country',
  'Phone',
  'BirthDate',
  'BirthPlace',
  'ClientIp',
  'CallbackUrl',
];

/** Documented spellings beyond case-insensitive matching of the canonical name (docs/fields.md, field names). */
export const FIELD_ALIASES: Readonly<Record<string, PaymentFieldName>> = {
  ip: 'ClientIp',
};
