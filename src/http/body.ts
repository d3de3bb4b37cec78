import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import type { Context } from 'koa';
import getRawBody from 'raw-body';
import { errors } from '../epro/errors';

/** Request bodies above this are refused with code 1 (docs/error-codes.md, code 1). */
export const BODY_LIMIT_BYTES = 64 * 1024;

type Fields = Record<string, unknown>;

/**
 * Reads an E-PRO request body into a plain field map. Existing E-PRO integrations post JSON, urlencoded forms
 * or multipart forms, often with a missing or wrong Content-Type, so a body that is not declared as one of those
 * is tried as JSON, then as a form. Anything unreadable is code 1; nothing here ever throws anything else.
 */
export async function readEproBody(ctx: Context): Promise<Fields> {
  if (ctx.get('content-encoding') && ctx.get('content-encoding').toLowerCase() !== 'identity') {
    throw errors.invalidRequest('compressed request bodies are not supported');
  }
  if (ctx.request.is('multipart/form-data')) return readMultipart(ctx.req, ctx.get('content-type'));

  const text = await readText(ctx.req);
  if (text.trim() === '') return {};
  if (ctx.request.is('json', '+json')) return parseJsonObject(text);
  if (ctx.request.is('urlencoded')) return parseForm(text);
  try {
    return parseJsonObject(text);
  } catch {
    return parseForm(text);
  }
}

async function readText(req: IncomingMessage): Promise<string> {
  try {
    return await getRawBody(req, { limit: BODY_LIMIT_BYTES, length: req.headers['content-length'], encoding: 'utf-8' });
  } catch (err) {
    const type = (err as { type?: string }).type;
    throw errors.invalidRequest(type === 'entity.too.large' ? 'body exceeds 64 KiB' : 'body could not be read');
  }
}

function parseJsonObject(text: string): Fields {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw errors.invalidRequest('body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors.invalidRequest('body must be an object of fields');
  }
  return parsed as Fields;
}

/** The first occurrence of a repeated field wins, as it would for a merchant reading their own form. */
function parseForm(text: string): Fields {
  const fields: Fields = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (!Object.prototype.hasOwnProperty.call(fields, key))
      Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return fields;
}

function readMultipart(req: IncomingMessage, contentType: string): Promise<Fields> {
  return new Promise((resolve, reject) => {
    const fields: Fields = {};
    let received = 0;
    let settled = false;
    const fail = (detail: string) => {
      if (settled) return;
      settled = true;
      req.unpipe();
      req.resume();
      reject(errors.invalidRequest(detail));
    };

    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        limits: { fieldSize: BODY_LIMIT_BYTES, fields: 500, files: 0, parts: 500 },
      });
    } catch {
      fail('multipart body without a valid boundary');
      return;
    }

    parser.on('field', (name, value) => {
      if (!Object.prototype.hasOwnProperty.call(fields, name))
        Object.defineProperty(fields, name, { value, enumerable: true, writable: true, configurable: true });
    });
    // Fields only: file parts are drained and ignored, never stored.
    parser.on('file', (_name, stream) => stream.resume());
    parser.on('partsLimit', () => fail('too many multipart parts'));
    parser.on('fieldsLimit', () => fail('too many multipart fields'));
    parser.on('error', () => fail('multipart body could not be read'));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      resolve(fields);
    });

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > BODY_LIMIT_BYTES) fail('body exceeds 64 KiB');
    });
    req.on('error', () => fail('body could not be read'));
    req.pipe(parser);
  });
}
