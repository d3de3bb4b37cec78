import type { CreatedMerchant } from '../../src/auth/accounts';
import { setMerchantRateLimit } from '../../src/store/merchants';
import { type AppProcess, startApiProcess } from '../../tools/stack';
import { freePort } from '../../tools/ports';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { type Answer, eventually, newMerchant, paymentBody, post } from '../support/factories';
import { type PrivateStack, startPrivateStack } from '../support/private-stack';

/**
 * Item 1 of issue 18's "done when" (docs/metrics.md): a mixed run on a stack of this file's own, then every process
 * scraped — the API, a second API with a wait budget too short for any decision, the worker, the worker's Temporal
 * SDK exporter and the Temporal server — and each counter's change equal to what the run did. Changes, not
 * values: a scrape before and one after, so whatever ran before (the stack's own start) does not count.
 */

type Series = { name: string; labels: Record<string, string>; value: number }[];

/** Prometheus's text format, the samples only. */
function parse(text: string): Series {
  const series: Series = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key!] = value!;
    series.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return series;
}

/** The sum of every series of `name` whose labels include `labels`. */
function sum(series: Series, name: string, labels: Record<string, string> = {}): number {
  return series
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

async function scrape(url: string | undefined): Promise<Series> {
  if (!url) throw new Error('no metrics URL: the listener is off');
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

let stack: PrivateStack;
let shortBudgetApi: AppProcess;
let shortBudgetUrl: string;
let merchant: CreatedMerchant;
let quickTimeout: CreatedMerchant;
let limited: CreatedMerchant;
const receiver = new WebhookReceiver();
let callbackUrl: string;

beforeAll(async () => {
  stack = await startPrivateStack();
  const port = await freePort();
  // Answers `pending` to every payment that is not decided within a millisecond: all of them.
  shortBudgetApi = await startApiProcess({ ...stack.config, port }, { API_WAIT_BUDGET: '1' }, 'api-short-budget');
  shortBudgetUrl = `http://${stack.config.host}:${port}`;
  merchant = await newMerchant(stack);
  quickTimeout = await newMerchant(stack, { threeDSTimeoutMs: 1500 });
  limited = await newMerchant(stack);
  await setMerchantRateLimit(stack.db, limited.merchantId, 1);
  callbackUrl = await receiver.start();
  // The first delivery to this receiver fails, every later one goes through.
  receiver.respond = (_, index) => (index === 0 ? 500 : 200);
}, 180_000);
afterAll(async () => {
  await receiver.stop();
  await shortBudgetApi?.stop();
  await stack?.close();
});

const pay = (apiUrl: string, key: string, overrides: Record<string, string | undefined> = {}) =>
  post(apiUrl, 'payment', key, paymentBody(overrides));

const statusOf = (key: string, tid: string) => post(stack.apiUrl, 'status', key, { Tid: tid });

async function finalStatus(key: string, tid: string): Promise<string> {
  return eventually(`${tid} to end`, async () => {
    const status = (await statusOf(key, tid)).body.Result?.Status as string | undefined;
    return status && status !== 'pending' && status !== 'authorized' ? status : undefined;
  });
}

/** A 3-D Secure payment's challenge page; `answer` submits the cardholder's result. */
async function challenge(key: string) {
  const body = paymentBody({ '3DS': 'yes', ReturnUrl: 'https://shop.example/return' });
  const answer = await post(stack.apiUrl, 'payment', key, body);
  expect(answer.body.Result).toMatchObject({ Status: 'pending', '3DSecure': 'yes' });
  const url = answer.body.Result!['3DSecureUrl'] as string;
  const page = await (await fetch(url)).text();
  const token = /name="token" value="([0-9a-f]{64})"/.exec(page)![1]!;
  return {
    tid: body.Tid!,
    answer: (result: 'approved' | 'failed') =>
      fetch(url, { method: 'POST', body: new URLSearchParams({ token, result }), redirect: 'manual' }),
  };
}

it('every process reports what a mixed run did', async () => {
  const { stack: processes } = stack;
  const urls = {
    api: processes.api!.metricsUrl,
    shortBudgetApi: shortBudgetApi.metricsUrl,
    worker: processes.worker!.metricsUrl,
  };
  const before = {
    api: await scrape(urls.api),
    shortBudgetApi: await scrape(urls.shortBudgetApi),
    worker: await scrape(urls.worker),
  };

  // ── The run ───────────────────────────────────────────────────────────────────────────────────────────
  const answers: Answer[] = [];
  const send = async (answer: Promise<Answer>) => {
    const got = await answer;
    answers.push(got);
    return got;
  };
  const captured = await send(pay(stack.apiUrl, merchant.testKey, { CallbackUrl: callbackUrl }));
  expect(captured.body.Result).toMatchObject({ Status: 'captured' });
  const declined = await send(pay(stack.apiUrl, merchant.testKey, { CardNumber: '4000000000000002' }));
  expect(declined.body.Result).toMatchObject({ Status: 'failed', Message: 'Card declined' });
  const insufficient = await send(pay(stack.apiUrl, merchant.testKey, { CardNumber: '4000000000009995' }));
  expect(insufficient.body.Result).toMatchObject({ Status: 'failed', Message: 'Insufficient funds' });
  // Fails transiently on its first two authorization attempts: the activity is retried, the payment captured.
  const flaky = await send(pay(stack.apiUrl, merchant.testKey, { CardNumber: '4000000000000119' }));
  expect(flaky.body.Result).toMatchObject({ Status: 'captured' });

  const approved = await challenge(merchant.testKey);
  const failedChallenge = await challenge(merchant.testKey);
  const timedOut = await challenge(quickTimeout.testKey);
  expect((await approved.answer('approved')).status).toBe(200);
  expect((await failedChallenge.answer('failed')).status).toBe(200);
  expect(await finalStatus(merchant.testKey, approved.tid)).toBe('captured');
  expect(await finalStatus(merchant.testKey, failedChallenge.tid)).toBe('rejected_pw');
  expect(await finalStatus(quickTimeout.testKey, timedOut.tid)).toBe('cancelled');

  const refund = await post(stack.apiUrl, 'refund', merchant.testKey, {
    Reference: captured.body.Result!.Reference as string,
  });
  expect(refund.body).toMatchObject({ Code: 0, Result: { Status: 'captured' } });

  // Answered before any decision: pending, then captured in the background.
  const late = await pay(shortBudgetUrl, merchant.testKey);
  expect(late.body.Result).toMatchObject({ Status: 'pending' });
  expect(await finalStatus(merchant.testKey, late.body.Result!.Tid as string)).toBe('captured');

  // One request within the limit of 1 a minute, one over it.
  const allowed = await post(stack.apiUrl, 'status', limited.testKey, { Tid: 'never-used' });
  expect(allowed.body.Code).toBe(102);
  const throttled = await post(stack.apiUrl, 'status', limited.testKey, { Tid: 'never-used' });
  expect(throttled.body).toEqual({ Code: 9, Error: 'Too many requests, retry later' });

  // The webhooks: PAYMENT_CAPTURED failed once then went through, then REFUND_SUCCEEDED.
  await eventually('both webhooks delivered', () =>
    Promise.resolve(receiver.received.filter((r) => r.answered === 200).length >= 2 ? true : undefined),
  );
  expect(receiver.received.map((r) => r.answered)).toEqual([500, 200, 200]);

  // ── The scrapes ───────────────────────────────────────────────────────────────────────────────────────
  // The worker's counters move as its activities finish: wait until the last fact of the run is in.
  const change = (name: string, labels: Record<string, string> = {}) => ({
    of: (process: keyof typeof before, after: Series) => sum(after, name, labels) - sum(before[process], name, labels),
  });
  let worker: Series = [];
  await eventually('the worker to count every payment', async () => {
    worker = await scrape(urls.worker);
    return change('settleflow_payments_final_total').of('worker', worker) >= 8 &&
      change('settleflow_webhook_attempts_total', { outcome: 'delivered' }).of('worker', worker) >= 2
      ? true
      : undefined;
  });
  const api = await scrape(urls.api);
  const shortBudget = await scrape(urls.shortBudgetApi);
  const inWorker = (name: string, labels: Record<string, string> = {}) => change(name, labels).of('worker', worker);
  const base = { mode: 'test', connector: 'simulator' };

  // Payments: accepted, final by status, mode and connector, decline reasons, time to decision.
  const capturedAnswers = answers.filter((a) => a.body.Result?.Status === 'captured').length;
  expect(capturedAnswers).toBe(2);
  expect(inWorker('settleflow_payments_accepted_total', base)).toBe(8);
  // The two answered `captured`, the 3-D Secure one approved, the one answered `pending`.
  expect(inWorker('settleflow_payments_final_total', { ...base, status: 'captured' })).toBe(capturedAnswers + 2);
  expect(inWorker('settleflow_payments_final_total', { ...base, status: 'failed' })).toBe(2);
  expect(inWorker('settleflow_payments_final_total', { ...base, status: 'rejected_pw' })).toBe(1);
  expect(inWorker('settleflow_payments_final_total', { ...base, status: 'cancelled' })).toBe(1);
  expect(inWorker('settleflow_payment_declines_total', { ...base, reason: 'card_declined' })).toBe(1);
  expect(inWorker('settleflow_payment_declines_total', { ...base, reason: 'insufficient_funds' })).toBe(1);
  expect(inWorker('settleflow_payment_declines_total', { ...base, reason: 'authentication_failed' })).toBe(1);
  expect(inWorker('settleflow_payment_decision_seconds_count', { ...base, threeds: 'no' })).toBe(5);
  expect(inWorker('settleflow_payment_decision_seconds_count', { ...base, threeds: 'yes' })).toBe(3);
  // The 3-D Secure ones waited for the cardholder: the timed-out one at least its 1.5 s.
  expect(inWorker('settleflow_payment_decision_seconds_sum', { ...base, status: 'cancelled' })).toBeGreaterThan(1.5);

  // 3-D Secure asked, answered, timed out; the refund.
  expect(inWorker('settleflow_threeds_challenges_asked_total', base)).toBe(3);
  expect(inWorker('settleflow_threeds_challenges_answered_total', { ...base, result: 'passed' })).toBe(1);
  expect(inWorker('settleflow_threeds_challenges_answered_total', { ...base, result: 'failed' })).toBe(1);
  expect(inWorker('settleflow_threeds_challenges_timed_out_total', base)).toBe(1);
  expect(inWorker('settleflow_refunds_total', { ...base, outcome: 'succeeded' })).toBe(1);

  // Webhooks: one failed attempt retried, two delivered; the backlog empty again; no card left in the vault.
  expect(inWorker('settleflow_webhook_attempts_total', { mode: 'test', outcome: 'retrying' })).toBe(1);
  expect(inWorker('settleflow_webhook_attempts_total', { mode: 'test', outcome: 'delivered' })).toBe(2);
  expect(inWorker('settleflow_webhook_attempt_duration_seconds_count')).toBe(3);
  expect(inWorker('settleflow_webhook_delivery_latency_seconds_count', { mode: 'test' })).toBe(2);
  expect(sum(worker, 'settleflow_webhook_retry_backlog')).toBe(0);
  expect(sum(worker, 'settleflow_webhook_oldest_undelivered_age_seconds')).toBe(0);
  expect(worker.some((s) => s.name === 'settleflow_vault_entries')).toBe(true);
  expect(sum(worker, 'settleflow_vault_entries')).toBe(0);
  expect(sum(worker, 'settleflow_metrics_store_read_errors_total')).toBe(0);
  expect(sum(worker, 'process_cpu_seconds_total')).toBeGreaterThan(0);

  // The API: requests by endpoint and Code, latency, throttling, the key cache, the pending answer.
  const inApi = (name: string, labels: Record<string, string> = {}) => change(name, labels).of('api', api);
  const payment = { endpoint: '/v1/payment/direct', code: '0' };
  expect(inApi('settleflow_api_requests_total', { ...payment, status: '200' })).toBe(answers.length + 3);
  expect(inApi('settleflow_api_request_duration_seconds_count', payment)).toBe(answers.length + 3);
  expect(inApi('settleflow_api_requests_total', { endpoint: '/v1/refund/direct', code: '0' })).toBe(1);
  // The limited merchant's; a status poll may have come before the record of the payment answered `pending`.
  expect(inApi('settleflow_api_requests_total', { endpoint: '/v1/status/direct', code: '102' })).toBeGreaterThanOrEqual(
    1,
  );
  expect(inApi('settleflow_api_requests_total', { endpoint: '/v1/status/direct', code: '9' })).toBe(1);
  expect(inApi('settleflow_api_throttled_requests_total', { reason: 'rate_limit' })).toBe(1);
  const eproRequests =
    sum(api, 'settleflow_api_requests_total', { endpoint: '/v1/status/direct' }) +
    sum(api, 'settleflow_api_requests_total', { endpoint: '/v1/payment/direct' }) +
    sum(api, 'settleflow_api_requests_total', { endpoint: '/v1/refund/direct' }) -
    ['/v1/status/direct', '/v1/payment/direct', '/v1/refund/direct'].reduce(
      (total, endpoint) => total + sum(before.api, 'settleflow_api_requests_total', { endpoint }),
      0,
    );
  expect(inApi('settleflow_api_key_cache_lookups_total')).toBe(eproRequests);
  expect(inApi('settleflow_api_key_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(0);
  expect(inApi('settleflow_api_key_cache_lookups_total', { result: 'miss' })).toBeGreaterThan(0);
  expect(inApi('settleflow_api_payment_pending_answers_total')).toBe(0);
  expect(
    sum(shortBudget, 'settleflow_api_payment_pending_answers_total', { mode: 'test' }) -
      sum(before.shortBudgetApi, 'settleflow_api_payment_pending_answers_total', { mode: 'test' }),
  ).toBe(1);
  // The challenge pages are counted by their route's pattern, never the Reference in their path.
  expect(inApi('settleflow_api_requests_total', { endpoint: '/v1/3ds/:reference' })).toBe(5);
  expect(api.some((s) => Object.values(s.labels).some((v) => v.includes('pr_')))).toBe(false);

  // The Temporal SDK's runtime metrics of the worker: task latencies, and the flaky card's retried authorizations.
  const sdk = await scrape(processes.worker!.sdkMetricsUrl);
  expect(sum(sdk, 'temporal_workflow_task_schedule_to_start_latency_seconds_count')).toBeGreaterThan(0);
  expect(sum(sdk, 'temporal_activity_schedule_to_start_latency_seconds_count')).toBeGreaterThan(0);
  expect(
    sum(sdk, 'temporal_activity_execution_failed_total', { activity_type: 'authorizePayment' }),
  ).toBeGreaterThanOrEqual(2);
  // The Temporal server's own.
  expect(processes.temporalMetricsUrls.length).toBeGreaterThan(0);
  const server = (await Promise.all(processes.temporalMetricsUrls.map((url) => scrape(url)))).flat();
  expect(sum(server, 'service_requests', { operation: 'ExecuteMultiOperation' })).toBeGreaterThan(0);
  expect(sum(server, 'task_schedule_to_start_latency_count')).toBeGreaterThan(0);
}, 180_000);

it('serves nothing on the merchant-facing port', async () => {
  const res = await fetch(`${stack.apiUrl}/metrics`);
  expect(res.status).toBe(404);
  expect(await res.text()).not.toContain('settleflow_');
});
