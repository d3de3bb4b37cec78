import { Counter, Histogram, type Registry } from 'prom-client';

/** Why a request was refused before its handler ran (docs/authentication.md, "Throttling"). */
export type ThrottleReason = 'rate_limit' | 'verification_busy' | 'key_lockout';

/** Request latencies: from a cached status read (milliseconds) to a payment waiting its whole budget (seconds). */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30];

/** The API process's own metrics (docs/metrics.md, "API"). */
export class ApiMetrics {
  readonly requests: Counter<'endpoint' | 'code' | 'status'>;
  readonly requestDuration: Histogram<'endpoint' | 'code'>;
  readonly throttled: Counter<'reason'>;
  readonly keyCache: Counter<'result'>;
  readonly pendingAnswers: Counter<'mode'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'settleflow_api_requests_total',
      help: 'HTTP requests answered, by route pattern, E-PRO Code (none: not an E-PRO envelope) and HTTP status',
      labelNames: ['endpoint', 'code', 'status'],
      registers,
    });
    this.requestDuration = new Histogram({
      name: 'settleflow_api_request_duration_seconds',
      help: 'Time from a request arriving to its answer, by route pattern and E-PRO Code',
      labelNames: ['endpoint', 'code'],
      buckets: REQUEST_BUCKETS,
      registers,
    });
    this.throttled = new Counter({
      name: 'settleflow_api_throttled_requests_total',
      help: 'Requests refused by the abuse limits: a key over its request rate, every key check slot busy, a key id or address locked out',
      labelNames: ['reason'],
      registers,
    });
    this.keyCache = new Counter({
      name: 'settleflow_api_key_cache_lookups_total',
      help: 'Well-formed API keys looked up in the verified-key cache: hit (no store read, no Argon2id) or miss',
      labelNames: ['result'],
      registers,
    });
    this.pendingAnswers = new Counter({
      name: 'settleflow_api_payment_pending_answers_total',
      help: 'Payment requests answered `pending` because the wait budget (API_WAIT_BUDGET) ran out before a decision',
      labelNames: ['mode'],
      registers,
    });
  }
}

/** The E-PRO Code of an answer as a label: the catalog's numbers, `none` for anything that is not an envelope. */
export function codeLabel(body: unknown): string {
  const code = (body as { Code?: unknown } | null | undefined)?.Code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code < 1000 ? String(code) : 'none';
}

/**
 * The route a request matched, as a label: the router's pattern (`/v1/3ds/:reference`, never the Reference
 * itself), or `other` for anything no route matched (static files, 404s), whose paths are the caller's to invent.
 */
export function endpointLabel(matchedRoute: unknown): string {
  return typeof matchedRoute === 'string' && matchedRoute.length <= 100 ? matchedRoute : 'other';
}
