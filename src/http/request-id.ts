import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import { containsCardNumber } from '../epro/card-like';
import type { Logger } from '../logger';

export interface RequestState {
  requestId: string;
  log: Logger;
}

// A caller's id is echoed only when it is a plain token; anything else could smuggle text into logs and headers.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when it sent a sane one), returns it in the response
 * header, and writes one log line per request with that id. Bodies are never logged.
 */
export function requestContext(logger: Logger): Middleware<RequestState> {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    // Nor is a card number echoed or logged, even as a request id or a path (docs/fields.md).
    const requestId = SAFE_REQUEST_ID.test(incoming) && !containsCardNumber(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      ctx.state.log.info(
        {
          method: ctx.method,
          path: containsCardNumber(ctx.path) ? '[redacted]' : ctx.path,
          status: ctx.status,
          code: (ctx.body as { Code?: unknown } | undefined)?.Code,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        },
        'request',
      );
    }
  };
}
