import { FIELD_ALIASES } from './fields';

/**
 * A field value after normalization: a trimmed string, or `INVALID` when the caller sent something that is not
 * a string or a number (an object, an array, a boolean). `INVALID` fails the field's own format check, so
 * `{"Amount": {"$gt": ""}}` is code 200 like any other malformed Amount — and can never reach a query.
 */
export const INVALID = Symbol('invalid field value');
export type FieldValue = string | typeof INVALID;

export function scalarValue(value: unknown): FieldValue | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return INVALID;
}

/**
 * Maps a parsed body onto the canonical field names (docs/fields.md, field names): each canonical name matches
 * case-insensitively, plus the documented aliases; when the exact canonical spelling and a variant both arrive,
 * the exact spelling wins; otherwise the first variant in body order wins. Unknown fields are dropped. Values
 * are trimmed, and an empty value counts as absent.
 */
export function normalizeFields<N extends string>(
  body: Record<string, unknown>,
  canonicalNames: readonly N[],
): Partial<Record<N, FieldValue>> {
  const byLowerName = new Map<string, N>(canonicalNames.map((name) => [name.toLowerCase(), name]));
  for (const [alias, name] of Object.entries(FIELD_ALIASES)) {
    if (byLowerName.has(name.toLowerCase())) byLowerName.set(alias, name as N);
  }

  const exact = new Map<N, FieldValue>();
  const variant = new Map<N, FieldValue>();
  for (const [key, raw] of Object.entries(body)) {
    const name = byLowerName.get(key.toLowerCase());
    if (name === undefined) continue;
    const value = scalarValue(raw);
    if (value === undefined || value === '') continue;
    if (key === name) exact.set(name, value);
    else if (!variant.has(name)) variant.set(name, value);
  }

  const fields: Partial<Record<N, FieldValue>> = {};
  for (const name of canonicalNames) {
    const value = exact.get(name) ?? variant.get(name);
    if (value !== undefined) fields[name] = value;
  }
  return fields;
}
