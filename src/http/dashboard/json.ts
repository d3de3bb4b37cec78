import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { refuse } from './errors';

/** Dashboard requests are small JSON objects; anything larger is refused before it is parsed. */
export const DASHBOARD_BODY_LIMIT_BYTES = 16 * 1024;

/**
 * Reads a JSON object body (an empty body is `{}`). The dashboard's own reader: the E-PRO body code accepts forms and
 * guesses types for old integrations, which a browser API has no reason to.
 */
export async function readJsonObject(ctx: Context): Promise<Record<string, unknown>> {
  const encoding = ctx.get('content-encoding');
  if (encoding && encoding.toLowerCase() !== 'identity') throw refuse.invalid('compressed bodies are not accepted');
  let text: string;
  try {
    text = await getRawBody(ctx.req, {
      limit: DASHBOARD_BODY_LIMIT_BYTES,
      length: ctx.req.headers['content-length'],
      encoding: 'utf-8',
    });
  } catch (err) {
    const type = (err as { type?: string }).type;
    throw refuse.invalid(type === 'entity.too.large' ? 'body exceeds 16 KiB' : 'body could not be read');
  }
  if (text.trim() === '') return {};
  if (!ctx.request.is('application/json')) throw refuse.invalid('the body must be application/json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw refuse.invalid('the body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw refuse.invalid('the body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** An optional number of hours within bounds, from a JSON body. */
export function optionalHours(body: Record<string, unknown>, field: string, max: number): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max)
    throw refuse.invalid(`${field} must be a number of hours from 0 to ${max}`);
  return value;
}
