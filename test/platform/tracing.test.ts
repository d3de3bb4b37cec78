import { randomBytes } from 'node:crypto';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { findCardData } from '../support/card-scan';
import { eventually, newMerchant, paymentBody, post } from '../support/factories';
import { PAYMENT_SPANS_EXPORTED_AT_ONCE, RUN_WORKFLOW_SPAN } from '../support/observability';
import { type PrivateStack, startPrivateStack } from '../support/private-stack';

/**
 * Item 2 of issue 18's "done when" (docs/tracing.md): a stack of this file's own that runs Jaeger, its API and worker
 * exporting to it, and one payment with a CallbackUrl. Its trace, read back from Jaeger's HTTP API, is one tree:
 * the API request, update-with-start, the workflow, each activity, the processor call and the webhook delivery,
 * under the caller's own `traceparent`. Nothing in it is card data.
 */

jest.setTimeout(240_000);

/** The parts of Jaeger's `/api/traces` JSON these checks read. */
interface JaegerSpan {
  traceID: string;
  spanID: string;
  operationName: string;
  references: { refType: string; traceID: string; spanID: string }[];
  tags: { key: string; value: unknown }[];
  processID: string;
  logs?: { fields: { key: string; value: unknown }[] }[];
}
interface JaegerTrace {
  traceID: string;
  spans: JaegerSpan[];
  processes: Record<string, { serviceName: string }>;
}

let stack: PrivateStack;
let merchant: CreatedMerchant;
const receiver = new WebhookReceiver();
let callbackUrl: string;

beforeAll(async () => {
  stack = await startPrivateStack(
    // Spans leave each process within a fifth of a second, not the batch processor's default five.
    { OTEL_BSP_SCHEDULE_DELAY: '200' },
    { jaeger: true },
  );
  // A workflow span is exported when the workflow ends, at the close of the refund window: a short one here.
  merchant = await newMerchant(stack, { refundWindowMs: 2_000 });
  callbackUrl = await receiver.start();
}, 240_000);
afterAll(async () => {
  await receiver.stop();
  await stack?.close();
});

const jaegerUrl = () => stack.stack.jaeger!.uiUrl;

/** The trace of `traceId` once it holds a span of every name in `names` (a pattern each). */
async function traceWith(traceId: string, names: RegExp[]): Promise<JaegerTrace> {
  return eventually(
    `a trace ${traceId} with ${names.join(', ')}`,
    async () => {
      const res = await fetch(`${jaegerUrl()}/api/traces/${traceId}`);
      if (res.status !== 200) return undefined;
      const trace = ((await res.json()) as { data: JaegerTrace[] }).data[0];
      const all = trace?.spans.map((span) => span.operationName) ?? [];
      return names.every((name) => all.some((op) => name.test(op))) ? trace : undefined;
    },
    60_000,
  );
}

const WHOLE_PAYMENT = [...PAYMENT_SPANS_EXPORTED_AT_ONCE, RUN_WORKFLOW_SPAN];

/**
 * What a trace says, for the card-data scan: names, tags, logs and the processes' tags. Not the span timestamps
 * (microseconds since the epoch, 16 digits), which the Luhn check of the scan takes for a card number now and then.
 */
const said = (trace: JaegerTrace) =>
  JSON.stringify({
    spans: trace.spans.map(({ operationName, tags, logs }) => ({ operationName, tags, logs })),
    processes: trace.processes,
  });

const parentOf = (span: JaegerSpan) => span.references.find((ref) => ref.refType === 'CHILD_OF')?.spanID;
const named = (trace: JaegerTrace, name: string) => trace.spans.filter((span) => span.operationName === name);
const tag = (span: JaegerSpan, key: string) => span.tags.find((t) => t.key === key)?.value;

it('one payment is one trace, API → workflow → activities → processor → webhook, under the caller’s traceparent', async () => {
  const traceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');
  const body = paymentBody({ CallbackUrl: callbackUrl });
  const answer = await post(stack.apiUrl, 'payment', merchant.testKey, body, 'json', {
    traceparent: `00-${traceId}-${callerSpanId}-01`,
  });
  expect(answer.body).toMatchObject({ Code: 0, Result: { Status: 'captured' } });
  await eventually('the webhook', () => Promise.resolve(receiver.received.length > 0 ? true : undefined));

  const trace = await traceWith(traceId, WHOLE_PAYMENT);
  expect(trace.traceID).toBe(traceId);
  for (const span of trace.spans) expect(span.traceID).toBe(traceId);

  // One tree: the API's span hangs from the caller's, and every other span from a span of this same trace.
  const ids = new Set(trace.spans.map((span) => span.spanID));
  const [request] = named(trace, 'POST /v1/payment/direct');
  expect(parentOf(request!)).toBe(callerSpanId);
  for (const span of trace.spans)
    if (span !== request)
      expect({ span: span.operationName, parentFound: ids.has(parentOf(span) ?? '') }).toEqual({
        span: span.operationName,
        parentFound: true,
      });
  const byId = new Map(trace.spans.map((span) => [span.spanID, span]));
  const parentName = (span: JaegerSpan | undefined) => byId.get(parentOf(span!) ?? '')?.operationName;
  expect(parentName(named(trace, 'processor authorize')[0])).toBe('RunActivity:authorizePayment');
  expect(parentName(named(trace, 'webhook deliver')[0])).toBe('RunActivity:deliverWebhook');
  expect(parentName(named(trace, 'RunActivity:authorizePayment')[0])).toBe('StartActivity:authorizePayment');
  expect(parentName(named(trace, 'RunWorkflow:paymentWorkflowV2')[0])).toMatch(/^UpdateWithStartWorkflow:/);

  // Both processes, as services of their own.
  expect(new Set(Object.values(trace.processes).map((p) => p.serviceName))).toEqual(
    new Set(['settleflow-api', 'settleflow-worker']),
  );
  expect(tag(request!, 'http.route')).toBe('/v1/payment/direct');
  expect(tag(request!, 'epro.code')).toBe(0);
  expect(tag(named(trace, 'processor authorize')[0]!, 'settleflow.processor.outcome')).toBe('approved');
  expect(tag(named(trace, 'webhook deliver')[0]!, 'http.response.status_code')).toBe(200);

  // The Tid only inside the workflow id (docs/tracing.md): no search attribute, memo or amount of the workflow.
  const withTid = trace.spans.flatMap((span) =>
    span.tags.filter((t) => String(t.value).includes(body.Tid!)).map((t) => t.key),
  );
  expect(withTid.length).toBeGreaterThan(0);
  for (const key of withTid) expect(['temporalWorkflowId', 'workflowId']).toContain(key);
  for (const span of trace.spans)
    for (const t of span.tags) expect(t.key).not.toMatch(/searchAttributes|memo|Tid|AmountMinor|lastResult/);

  // No card data anywhere in what the trace backend keeps (test/support/card-scan.ts), nor the CVV as sent.
  const text = said(trace);
  expect(findCardData(text)).toEqual([]);
  expect(text).not.toContain(body.CardNumber);
  expect(text).not.toMatch(new RegExp(`"${body.CardCVV}"`));
});

it('a payment without a traceparent starts a trace of its own, found by its request id', async () => {
  const answer = await post(stack.apiUrl, 'payment', merchant.testKey, paymentBody());
  expect(answer.body).toMatchObject({ Code: 0 });
  const tags = encodeURIComponent(JSON.stringify({ 'settleflow.request_id': answer.requestId }));
  const traceId = await eventually('the request’s trace', async () => {
    const res = await fetch(`${jaegerUrl()}/api/traces?service=settleflow-api&tags=${tags}&lookback=1h&limit=5`);
    const found = res.status === 200 ? ((await res.json()) as { data: JaegerTrace[] }).data : [];
    return found.length === 1 ? found[0]!.traceID : undefined;
  });
  const trace = await traceWith(traceId, [/^POST \/v1\/payment\/direct$/, /^RunActivity:authorizePayment$/]);
  const [request] = named(trace, 'POST /v1/payment/direct');
  expect(parentOf(request!)).toBeUndefined();
  expect(findCardData(said(trace))).toEqual([]);
});
