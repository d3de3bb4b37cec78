import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Router from '@koa/router';
import { context, propagation, trace } from '@opentelemetry/api';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import type { WorkflowInfo } from '@temporalio/workflow';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import Koa from 'koa';
import { configToEnv, loadConfig } from '../../src/config';
import { type RequestState, requestContext } from '../../src/http/request-id';
import { requestTracing } from '../../src/http/request-tracing';
import { createLogger } from '../../src/logger';
import { workflowSpanFilter } from '../../src/temporal/worker-options';
import { inSpan, SpanKind } from '../../src/tracing/spans';
import { findCardData } from '../support/card-scan';
import { problemsOf } from '../support/config-problems';

/**
 * Tracing (docs/tracing.md): off unless the OTEL_* variables ask for it, checked at start; and the API's request
 * span, which honours a caller's `traceparent` and carries nothing of the request but its route pattern.
 */

let tmp: string;
const env = (overrides: Record<string, string> = {}) => ({
  VAULT_KEY: randomBytes(32).toString('base64'),
  DATA_DIR: path.join(tmp, 'data'),
  ...overrides,
});
beforeAll(() => (tmp = mkdtempSync(path.join(os.tmpdir(), 'settleflow-tracing-'))));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the tracing settings', () => {
  it('are off by default, and on once an OTLP endpoint is set', () => {
    expect(loadConfig(env()).tracing).toMatchObject({ enabled: false });
    expect(loadConfig(env({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).tracing).toMatchObject({
      enabled: true,
      exporter: 'otlp',
    });
    expect(
      loadConfig(env({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).tracing.enabled,
    ).toBe(true);
    expect(loadConfig(env({ OTEL_TRACES_EXPORTER: 'console' })).tracing).toMatchObject({
      enabled: true,
      exporter: 'console',
    });
  });

  it('are off whatever else is set when OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none says so', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(loadConfig(env({ ...endpoint, OTEL_SDK_DISABLED: 'true' })).tracing.enabled).toBe(false);
    expect(loadConfig(env({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' })).tracing.enabled).toBe(false);
  });

  it('refuse an exporter, a protocol or an endpoint SettleFlow cannot use', () => {
    expect(problemsOf(env({ OTEL_TRACES_EXPORTER: 'zipkin' }))).toEqual([
      expect.stringContaining('OTEL_TRACES_EXPORTER must be otlp, console or none'),
    ]);
    expect(problemsOf(env({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }))).toEqual([
      expect.stringContaining('OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf'),
    ]);
    expect(problemsOf(env({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }))).toEqual([
      expect.stringContaining('OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http(s) URL'),
    ]);
  });

  it('are handed on to the processes a stack starts, every OTEL_* variable as it was', () => {
    const given = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_BSP_SCHEDULE_DELAY: '200' };
    expect(configToEnv(loadConfig(env(given)))).toMatchObject(given);
  });
});

describe('the request span', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  let url: string;
  let server: ReturnType<Koa['listen']>;

  beforeAll(async () => {
    provider.register();
    const app = new Koa<RequestState>();
    app.use(requestContext(createLogger('api', 'silent')));
    app.use(requestTracing());
    const router = new Router<RequestState>();
    router.post('/v1/payment/:kind', async (ctx) => {
      await inSpan('processor authorize', { kind: SpanKind.CLIENT }, () => Promise.resolve());
      ctx.body = { Code: 0 };
    });
    app.use(router.routes() as unknown as Koa.Middleware<RequestState>);
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(() => exporter.reset());

  it("is a child of the caller's traceparent, with the route pattern and the E-PRO Code, and no card data", async () => {
    const traceId = randomBytes(16).toString('hex');
    const parent = randomBytes(8).toString('hex');
    const res = await fetch(`${url}/v1/payment/4111111111111111?CardNumber=4111111111111111&CardCVV=123`, {
      method: 'POST',
      headers: { traceparent: `00-${traceId}-${parent}-01`, 'content-type': 'application/json' },
      body: JSON.stringify({ CardNumber: '4111111111111111', CardCVV: '123' }),
    });
    expect(res.status).toBe(200);
    const spans = exporter.getFinishedSpans();
    const request = spans.find((span) => span.name === 'POST /v1/payment/:kind')!;
    expect(request.spanContext().traceId).toBe(traceId);
    expect(request.parentSpanId).toBe(parent);
    expect(request.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/v1/payment/:kind',
      'http.response.status_code': 200,
      'epro.code': 0,
      'settleflow.request_id': res.headers.get('x-request-id'),
    });
    const processor = spans.find((span) => span.name === 'processor authorize')!;
    expect(processor.parentSpanId).toBe(request.spanContext().spanId);
    expect(
      findCardData(JSON.stringify(spans.map((span) => ({ name: span.name, attributes: span.attributes })))),
    ).toEqual([]);
  });

  it('starts a trace of its own without a traceparent', async () => {
    await fetch(`${url}/v1/payment/direct`, { method: 'POST' });
    const [request] = exporter.getFinishedSpans().filter((span) => span.name.startsWith('POST'));
    expect(request!.parentSpanId).toBeUndefined();
  });
});

describe('a workflow span', () => {
  it("keeps the execution's identity of the workflow info the sink copies onto it, not its search attributes or memo", async () => {
    const exporter = new InMemorySpanExporter();
    const sink = makeWorkflowExporter(workflowSpanFilter(new SimpleSpanProcessor(exporter)), Resource.empty());
    const info = {
      workflowId: 'payment-test-m1-order-1',
      runId: 'run-1',
      workflowType: 'paymentWorkflowV2',
      taskQueue: 'settleflow',
      namespace: 'settleflow',
      attempt: 1,
      searchAttributes: { Tid: ['order-1'], AmountMinor: [1234] },
      memo: { requestId: 'req-1' },
      startTime: new Date(),
    } as unknown as WorkflowInfo;
    const span = {
      name: 'RunWorkflow:paymentWorkflowV2',
      kind: 0,
      spanContext: { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: 1 },
      startTime: [0, 0],
      endTime: [1, 0],
      status: { code: 0 },
      attributes: { temporalUpdateId: 'u-1' },
      links: [],
      events: [],
      duration: [1, 0],
      ended: true,
      droppedAttributesCount: 0,
      droppedLinksCount: 0,
      droppedEventsCount: 0,
      instrumentationLibrary: { name: '@temporalio/interceptor-workflow' },
    };
    await sink.export.fn(info, [span] as never);
    const [exported] = exporter.getFinishedSpans();
    expect(exported!.attributes).toEqual({
      workflowId: 'payment-test-m1-order-1',
      runId: 'run-1',
      workflowType: 'paymentWorkflowV2',
      taskQueue: 'settleflow',
      namespace: 'settleflow',
      attempt: 1,
      temporalUpdateId: 'u-1',
    });
    expect(exported!.spanContext().traceId).toBe(span.spanContext.traceId);
  });
});
