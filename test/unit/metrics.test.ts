import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from 'mongodb';
import { Registry } from 'prom-client';
import pino from 'pino';
import { loadConfig } from '../../src/config';
import { ApiMetrics, codeLabel, endpointLabel } from '../../src/metrics/api-metrics';
import { ALLOWED_LABELS, createRegistry, serveMetrics } from '../../src/metrics/registry';
import { DECLINED_AFTER_CHALLENGE, DECLINES as SIMULATOR_DECLINES } from '../../activities/psp/simulator';
import { DECLINES as STRIPE_DECLINES } from '../../activities/psp/stripe/transformers';
import { declineReason, WorkerMetrics } from '../../src/metrics/worker-metrics';
import type { PriorState } from '../../src/store/payment-records';
import type { ProjectionInput } from '../../workflows/vocabulary';

/**
 * The metrics of docs/metrics.md without a stack: bounded labels on every metric (no Tid, Reference, key, merchant
 * unless opted in, card data), the facts a projection write counts, the listener's answers.
 */

/** A store that answers the scrape-time gauges' reads (a backlog of two, the oldest filed a minute ago). */
function fakeDb(): Db {
  const oldest = new Date(Date.now() - 60_000);
  const collection = (name: string) => ({
    countDocuments: () => Promise.resolve(name === 'vault' ? 3 : 2),
    find: () => ({ sort: () => ({ limit: () => ({ next: () => Promise.resolve({ createdAt: oldest }) }) }) }),
  });
  return { collection } as unknown as Db;
}

function labelNamesOf(registry: Registry): Map<string, string[]> {
  return new Map(
    registry
      .getMetricsAsArray()
      .map((metric) => [metric.name, (metric as unknown as { labelNames?: string[] }).labelNames ?? []]),
  );
}

describe('every metric carries allowed labels only', () => {
  const registries = (merchantLabel: boolean) => {
    const api = createRegistry();
    new ApiMetrics(api);
    const worker = createRegistry();
    new WorkerMetrics(worker, fakeDb(), { merchantLabel });
    return [api, worker];
  };

  it.each([false, true])('merchant label opted in: %s', (merchantLabel) => {
    const allowed = new Set<string>(ALLOWED_LABELS);
    if (!merchantLabel) allowed.delete('merchant');
    const seen = new Set<string>();
    for (const registry of registries(merchantLabel)) {
      for (const [name, labels] of labelNamesOf(registry)) {
        expect({ name, refused: labels.filter((label) => !allowed.has(label)) }).toEqual({ name, refused: [] });
        labels.forEach((label) => seen.add(label));
      }
    }
    expect(seen.has('merchant')).toBe(merchantLabel);
  });

  it('names SettleFlow metrics settleflow_…, counters _total, durations _seconds', () => {
    for (const registry of registries(false)) {
      for (const metric of registry.getMetricsAsArray()) {
        const { name, type } = metric as unknown as { name: string; type: string };
        // Node's default metrics keep their usual names (process_…, nodejs_…).
        if (!name.startsWith('settleflow_')) {
          expect(name).toMatch(/^(process|nodejs)_/);
          continue;
        }
        if (type === 'counter') expect(name).toMatch(/_total$/);
        if (type === 'histogram') expect(name).toMatch(/_seconds$/);
      }
    }
  });
});

describe('labels made from requests stay bounded', () => {
  it('takes the route pattern, never the path', () => {
    expect(endpointLabel('/v1/3ds/:reference')).toBe('/v1/3ds/:reference');
    expect(endpointLabel(undefined)).toBe('other');
    expect(endpointLabel(/x/)).toBe('other');
    expect(endpointLabel('x'.repeat(500))).toBe('other');
  });

  it('takes the E-PRO Code of an envelope, none otherwise', () => {
    expect(codeLabel({ Code: 0, Result: {} })).toBe('0');
    expect(codeLabel({ Code: 104, Error: 'Tid already used' })).toBe('104');
    expect(codeLabel({ Code: '4111111111111111' })).toBe('none');
    expect(codeLabel({ Code: 123456 })).toBe('none');
    expect(codeLabel('<html>')).toBe('none');
    expect(codeLabel(undefined)).toBe('none');
  });

  it('sorts decline messages into a fixed set', () => {
    expect(declineReason('Card declined')).toBe('card_declined');
    expect(declineReason('Card declined (some_new_code)')).toBe('card_declined');
    expect(declineReason('Insufficient funds')).toBe('insufficient_funds');
    expect(declineReason('Capture failed (Capture declined by the issuer); the authorization was voided')).toBe(
      'capture_failed',
    );
    expect(declineReason('Payment could not be completed: card data expired')).toBe('card_unavailable');
    expect(declineReason('Payment could not be completed')).toBe('not_completed');
    expect(declineReason('3DSecure authentication failed')).toBe('authentication_failed');
    expect(declineReason('anything a processor may say one day')).toBe('other');
  });

  it.each([
    ...Object.values(SIMULATOR_DECLINES),
    ...Object.values(DECLINED_AFTER_CHALLENGE),
    ...Object.values(STRIPE_DECLINES),
  ])('reads the decline a connector can write, "%s", as a reason of its own, never other', (message) => {
    expect(declineReason(message)).not.toBe('other');
  });
});

describe('a projection write counts what it changed', () => {
  const created = new Date('2030-01-01T00:00:00Z');
  const prior = (fields: Partial<PriorState> = {}): PriorState => ({
    mode: 'test',
    merchantId: 'mer_1',
    connector: 'simulator',
    status: 'pending',
    createdAt: created,
    ...fields,
  });
  const write = (fields: Partial<ProjectionInput>): ProjectionInput => ({
    paymentKey: 'test:mer_1:t1',
    seq: 1,
    date: new Date(created.getTime() + 2_000).toISOString(),
    ...fields,
  });

  async function value(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const sample = metric?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName === undefined &&
        Object.entries(labels).every(([k, l]) => v.labels[k] === l),
    );
    return sample?.value ?? 0;
  }

  it('a payment captured, a 3-D Secure challenge asked, answered and timed out, a refund', async () => {
    const registry = new Registry();
    const metrics = new WorkerMetrics(registry, fakeDb(), { merchantLabel: false });
    const threeDSUrl = 'https://pay.example/v1/3ds/pr_x';
    metrics.paymentAccepted({ mode: 'test', connector: 'simulator', merchantId: 'mer_1' });
    metrics.projectionApplied(prior(), write({ status: 'authorized' }));
    metrics.projectionApplied(prior({ status: 'authorized' }), write({ status: 'captured', message: 'ok' }));
    metrics.projectionApplied(
      prior({ status: 'captured' }),
      write({ refund: { reference: 'r', status: 'captured', message: 'm' } }),
    );
    metrics.projectionApplied(prior(), write({ status: 'pending', threeDSUrl }));
    metrics.projectionApplied(prior({ threeDSUrl }), write({ status: 'authorized' }));
    metrics.projectionApplied(prior({ threeDSUrl }), write({ status: 'cancelled', message: '3DSecure…' }));
    metrics.projectionApplied(
      prior({ threeDSUrl }),
      write({ status: 'rejected_pw', message: '3DSecure authentication failed' }),
    );
    // A final status written again (a later write of a captured payment) is not a second final fact.
    metrics.projectionApplied(prior({ status: 'captured' }), write({ status: 'captured', message: 'ok' }));

    const base = { mode: 'test', connector: 'simulator' };
    expect(await value(registry, 'settleflow_payments_accepted_total', base)).toBe(1);
    expect(await value(registry, 'settleflow_payments_final_total', { ...base, status: 'captured' })).toBe(1);
    expect(await value(registry, 'settleflow_payments_final_total', { ...base, status: 'cancelled' })).toBe(1);
    expect(await value(registry, 'settleflow_payments_final_total', { ...base, status: 'rejected_pw' })).toBe(1);
    expect(await value(registry, 'settleflow_refunds_total', { ...base, outcome: 'succeeded' })).toBe(1);
    expect(await value(registry, 'settleflow_threeds_challenges_asked_total', base)).toBe(1);
    expect(await value(registry, 'settleflow_threeds_challenges_answered_total', { ...base, result: 'passed' })).toBe(
      1,
    );
    expect(await value(registry, 'settleflow_threeds_challenges_answered_total', { ...base, result: 'failed' })).toBe(
      1,
    );
    expect(await value(registry, 'settleflow_threeds_challenges_timed_out_total', base)).toBe(1);
    expect(
      await value(registry, 'settleflow_payment_declines_total', { ...base, reason: 'authentication_failed' }),
    ).toBe(1);
    const text = await registry.getSingleMetricAsString('settleflow_payment_decision_seconds');
    expect(text).toContain(
      'settleflow_payment_decision_seconds_count{mode="test",connector="simulator",status="captured",threeds="no"} 1',
    );
    expect(text).toContain(
      'settleflow_payment_decision_seconds_sum{mode="test",connector="simulator",status="captured",threeds="no"} 2',
    );
  });

  it('reads the store-backed gauges on scrape', async () => {
    const registry = new Registry();
    new WorkerMetrics(registry, fakeDb(), { merchantLabel: false });
    const text = await registry.metrics();
    expect(text).toMatch(/^settleflow_vault_entries 3$/m);
    expect(text).toMatch(/^settleflow_webhook_retry_backlog 2$/m);
    const age = Number(/^settleflow_webhook_oldest_undelivered_age_seconds (\S+)$/m.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(60);
    expect(age).toBeLessThan(120);
  });

  it('answers with the last values when the store fails, and counts the failure', async () => {
    const registry = new Registry();
    const failing = {
      collection: () => ({
        countDocuments: () => Promise.reject(new Error('down')),
        find: () => ({ sort: () => ({ limit: () => ({ next: () => Promise.reject(new Error('down')) }) }) }),
      }),
    } as unknown as Db;
    new WorkerMetrics(registry, failing, { merchantLabel: false });
    expect(await registry.metrics()).toMatch(/^settleflow_vault_entries 0$/m);
    // Counted while that scrape's counters were already read: the next scrape shows it.
    expect(await registry.metrics()).toMatch(/^settleflow_metrics_store_read_errors_total [1-9]/m);
  });
});

describe('the metrics listener', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const registry = createRegistry();
    new ApiMetrics(registry).requests.inc({ endpoint: '/v1/status/direct', code: '0', status: '200' });
    server = serveMetrics(registry, '127.0.0.1', 0, pino({ level: 'silent' }));
    await new Promise((resolve) => server.once('listening', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it('answers /metrics in the text format 0.0.4', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain('settleflow_api_requests_total{endpoint="/v1/status/direct",code="0",status="200"} 1');
    expect(text).toContain('process_cpu_seconds_total');
  });

  it('answers 404 to anything else', async () => {
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(404);
  });
});

it('binds to loopback unless told otherwise, on ports of their own', () => {
  const config = loadConfig({
    VAULT_KEY: Buffer.alloc(32, 1).toString('base64'),
    DATA_DIR: '/nonexistent-never-written',
  });
  expect(config.metrics).toEqual({
    host: '127.0.0.1',
    apiPort: 9464,
    workerPort: 9465,
    sdkPort: 9466,
    merchantLabel: false,
  });
  expect(config.metrics.apiPort).not.toBe(config.port);
  const off = loadConfig({
    VAULT_KEY: Buffer.alloc(32, 1).toString('base64'),
    DATA_DIR: '/nonexistent-never-written',
    API_METRICS_PORT: '0',
  });
  expect(off.metrics.apiPort).toBe(0);
});
