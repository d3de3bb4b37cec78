import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { PspUnavailableError } from '../../activities/psp/adapter';
import { StripeConnector } from '../../activities/psp/stripe/stripe-connector';
import { loadConfig } from '../../src/config';
import {
  FAILURE_PROCESSOR_CREDENTIALS,
  FAILURE_PROCESSOR_REJECTED_REQUEST,
  type ProcessorAccount,
} from '../../workflows/vocabulary';
import type { StripeMock } from '../../tools/servers';
import { cardDataIn } from '../support/card-scan';
import { type StripeBehindProxy, startStripeMockPlays, stripeBehindProxy, stripeMockUrl } from '../support/stripe-mock';
import {
  LIVE_ACCOUNT,
  STRIPE_TEST_CVV,
  STRIPE_TEST_PAN,
  stripeAuthorizeRequest,
  stripeMovement,
} from '../support/stripe-requests';

/**
 * The Stripe connector (activities/psp/stripe) against stripe-mock, Stripe's API simulator, through the official
 * library and a recording proxy (test/support/recording-proxy.ts) that keeps what went on the wire. stripe-mock
 * checks every request against Stripe's API description; it decides nothing (each answer is a fixture with the
 * request's own fields copied in), so the outcome of a call here is whatever fixture that instance plays
 * (test/support/stripe-mock.ts, STRIPE_MOCK_PLAYS): the shared instance with its bundled fixtures (a PaymentIntent
 * that is `requires_payment_method`, i.e. declined), and instances of this file playing an approving processor and
 * one that challenges. What the outcomes mean for every status and error is proved in
 * test/unit/stripe-transformers.test.ts; here, that the calls are the right calls.
 */

const dataDir = loadConfig(process.env).dataDir;
const testAccount: ProcessorAccount = { merchantId: LIVE_ACCOUNT.merchantId, mode: 'test' };

let run = 0;
/** A fresh payment's idempotency key (its workflow id), as the workflow passes it. */
const workflowId = () => `payment-live-mer_abc-T${Date.now()}-${++run}`;

interface Processor extends StripeBehindProxy {
  mock?: StripeMock;
}

async function expectFailure(call: Promise<unknown>, type: string): Promise<ApplicationFailure> {
  const error = await call.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  expect(error).toMatchObject({ type, nonRetryable: true });
  return error as ApplicationFailure;
}

let bundled: Processor;
let approving: Processor;
let challenging: Processor;

beforeAll(async () => {
  const mocks = await startStripeMockPlays(dataDir, ['approving', 'challenging']);
  bundled = await stripeBehindProxy(stripeMockUrl());
  approving = { ...(await stripeBehindProxy(new URL(mocks.approving.url))), mock: mocks.approving };
  challenging = { ...(await stripeBehindProxy(new URL(mocks.challenging.url))), mock: mocks.challenging };
});

afterAll(async () => {
  for (const p of [bundled, approving, challenging]) {
    await p?.proxy.stop();
    await p?.mock?.stop();
  }
});

const callsOf = (p: Processor, from: number) => p.proxy.calls.slice(from);

describe('the Stripe connector against stripe-mock', () => {
  it('authorizes: a card PaymentMethod, then a confirmed manual-capture PaymentIntent, each under its own key', async () => {
    const key = workflowId();
    const from = approving.proxy.calls.length;
    const outcome = await approving.connector.authorize(stripeAuthorizeRequest(key));
    expect(outcome).toEqual({ kind: 'approved', pspReference: expect.stringMatching(/^pi_/) });

    const [method, intent, ...more] = callsOf(approving, from);
    expect(more).toEqual([]);
    expect(method).toMatchObject({ method: 'POST', path: '/v1/payment_methods', status: 200 });
    expect(method!.idempotencyKey).toBe(`${key}:payment_method`);
    expect(method!.params).toEqual({
      type: 'card',
      'card[number]': STRIPE_TEST_PAN,
      'card[exp_month]': '12',
      'card[exp_year]': '2030',
      'card[cvc]': STRIPE_TEST_CVV,
      'billing_details[name]': 'Ada Lovelace',
      'billing_details[email]': 'ada@example.com',
      'billing_details[phone]': '+33 1 23 45 67 89',
      'billing_details[address][line1]': '12 Analytical Row',
      'billing_details[address][postal_code]': '75001',
      'billing_details[address][city]': 'Paris',
      'billing_details[address][country]': 'FR',
    });

    expect(intent).toMatchObject({ method: 'POST', path: '/v1/payment_intents', status: 200 });
    expect(intent!.idempotencyKey).toBe(`${key}:payment_intent`);
    const paymentMethodId = (JSON.parse(method!.answer!) as { id: string }).id;
    expect(intent!.params).toEqual({
      amount: '1999',
      currency: 'eur',
      payment_method: paymentMethodId,
      capture_method: 'manual',
      confirm: 'true',
      return_url: 'https://settleflow.example/v1/3ds/pay_ref1/return',
      description: 'Order 42',
      'metadata[settleflow_workflow_id]': key,
      'metadata[settleflow_reference]': 'pay_ref1',
      'metadata[settleflow_tid]': 'T1',
      'metadata[settleflow_merchant]': LIVE_ACCOUNT.merchantId,
      'metadata[settleflow_mode]': 'live',
      'metadata[settleflow_customer_id]': 'cust-7',
    });
  });

  it('sends the same keys when the same authorization is tried again (the activity retry after a crash)', async () => {
    const key = workflowId();
    const from = approving.proxy.calls.length;
    await approving.connector.authorize(stripeAuthorizeRequest(key));
    await approving.connector.authorize(stripeAuthorizeRequest(key));
    const keys = callsOf(approving, from).map((call) => call.idempotencyKey);
    expect(keys).toEqual([
      `${key}:payment_method`,
      `${key}:payment_intent`,
      `${key}:payment_method`,
      `${key}:payment_intent`,
    ]);
    // Another payment: other keys.
    const other = workflowId();
    await approving.connector.authorize(stripeAuthorizeRequest(other));
    expect(callsOf(approving, from + 4).map((call) => call.idempotencyKey)).toEqual([
      `${other}:payment_method`,
      `${other}:payment_intent`,
    ]);
  });

  it("asks Stripe to challenge on 3DS=yes, and answers its requires_action with Stripe's page", async () => {
    const key = workflowId();
    const from = challenging.proxy.calls.length;
    const outcome = await challenging.connector.authorize(stripeAuthorizeRequest(key, { threeDSRequested: true }));
    expect(outcome).toEqual({
      kind: 'challenge_required',
      pspReference: expect.stringMatching(/^pi_/),
      redirectUrl: 'https://stripe-3ds.example/challenge/pi',
    });
    const intent = callsOf(challenging, from)[1]!;
    expect(intent.params['payment_method_options[card][request_three_d_secure]']).toBe('challenge');
  });

  it('with no return URL, tells Stripe to decline rather than challenge (accepted by the API description)', async () => {
    const from = approving.proxy.calls.length;
    await approving.connector.authorize(stripeAuthorizeRequest(workflowId(), { returnUrl: undefined }));
    expect(callsOf(approving, from)[1]!.params).toMatchObject({
      error_on_requires_action: 'true',
      'automatic_payment_methods[enabled]': 'true',
      'automatic_payment_methods[allow_redirects]': 'never',
    });
  });

  it("reads stripe-mock's bundled PaymentIntent (requires_payment_method, no reason) as a decline", async () => {
    const outcome = await bundled.connector.authorize(stripeAuthorizeRequest(workflowId()));
    expect(outcome).toEqual({
      kind: 'declined',
      message: 'Card declined',
      pspReference: expect.stringMatching(/^pi_/),
    });
  });

  it('checks an authorization by reading its PaymentIntent back (a GET: no key)', async () => {
    const from = approving.proxy.calls.length;
    const outcome = await approving.connector.checkAuthorization({
      account: LIVE_ACCOUNT,
      pspReference: 'pi_123',
    });
    expect(outcome).toEqual({ kind: 'approved', pspReference: 'pi_123' });
    expect(callsOf(approving, from)).toMatchObject([
      { method: 'GET', path: '/v1/payment_intents/pi_123', idempotencyKey: undefined, status: 200 },
    ]);
  });

  it('captures the amount asked for, voids and refunds, each under the key of its step', async () => {
    const key = workflowId();
    const from = approving.proxy.calls.length;
    await expect(approving.connector.capture(stripeMovement(key))).resolves.toEqual({ kind: 'captured' });
    await expect(approving.connector.void(stripeMovement(`${key}:void`))).resolves.toEqual({ kind: 'voided' });
    await expect(approving.connector.refund(stripeMovement(`${key}:refund:ref_1`, { amount: 500 }))).resolves.toEqual({
      kind: 'refunded',
      pspReference: expect.stringMatching(/^re_/),
    });

    expect(callsOf(approving, from)).toMatchObject([
      {
        method: 'POST',
        path: '/v1/payment_intents/pi_123/capture',
        idempotencyKey: `${key}:capture`,
        params: { amount_to_capture: '1999' },
        status: 200,
      },
      {
        method: 'POST',
        path: '/v1/payment_intents/pi_123/cancel',
        idempotencyKey: `${key}:void:cancel`,
        params: {},
        status: 200,
      },
      {
        method: 'POST',
        path: '/v1/refunds',
        idempotencyKey: `${key}:refund:ref_1:refund`,
        params: { payment_intent: 'pi_123', amount: '500' },
        status: 200,
      },
    ]);
  });

  it('a request the API description refuses is a non-retryable ProcessorRejectedRequest, named for ops', async () => {
    // An amount in major units (19.99 for 1999 cents) is the classic bug: not an integer, refused.
    const authorize = approving.connector.authorize(stripeAuthorizeRequest(workflowId(), { amount: 19.99 }));
    const failure = await expectFailure(authorize, FAILURE_PROCESSOR_REJECTED_REQUEST);
    expect(failure.message).toContain("'amount'");
    expect(cardDataIn('failure message', failure.message)).toEqual([]);

    const capture = approving.connector.capture(stripeMovement(workflowId(), { amount: 12.5 }));
    expect((await expectFailure(capture, FAILURE_PROCESSOR_REJECTED_REQUEST)).message).toContain("'amount_to_capture'");
  });

  it('a key Stripe refuses (401) is a non-retryable ProcessorCredentialsRejected', async () => {
    // stripe-mock answers 401 to a key with a third underscore.
    const refused = await stripeBehindProxy(stripeMockUrl(), 'sk_test_not_valid');
    try {
      await expectFailure(refused.connector.capture(stripeMovement(workflowId())), FAILURE_PROCESSOR_CREDENTIALS);
      expect(refused.proxy.calls).toMatchObject([{ status: 401 }]);
    } finally {
      await refused.proxy.stop();
    }
  });

  it('a key of the other mode, or no account, is refused before any call', async () => {
    const live = await stripeBehindProxy(stripeMockUrl(), 'sk_live_settleflow');
    try {
      await expectFailure(
        live.connector.authorize(stripeAuthorizeRequest(workflowId(), { account: testAccount })),
        FAILURE_PROCESSOR_CREDENTIALS,
      );
      await expectFailure(
        live.connector.capture(stripeMovement(workflowId(), { account: undefined })),
        FAILURE_PROCESSOR_CREDENTIALS,
      );
      expect(live.proxy.calls).toEqual([]);
    } finally {
      await live.proxy.stop();
    }
    // Without the stripe-mock allowance, a live account needs a live key.
    const strict = new StripeConnector({ credentials: () => Promise.resolve({ secretKey: 'sk_test_settleflow' }) });
    await expectFailure(strict.capture(stripeMovement(workflowId())), FAILURE_PROCESSOR_CREDENTIALS);
  });

  it('a 5xx or a rate limit throws PspUnavailableError; the retry carries the same key and goes through', async () => {
    const key = workflowId();
    const from = approving.proxy.calls.length;
    approving.proxy.inject(
      { kind: 'answer', status: 503, body: { error: { type: 'api_error', message: 'Service unavailable' } } },
      { kind: 'answer', status: 429, body: { error: { type: 'invalid_request_error', code: 'rate_limit' } } },
    );
    await expect(approving.connector.capture(stripeMovement(key))).rejects.toBeInstanceOf(PspUnavailableError);
    await expect(approving.connector.capture(stripeMovement(key))).rejects.toBeInstanceOf(PspUnavailableError);
    await expect(approving.connector.capture(stripeMovement(key))).resolves.toEqual({ kind: 'captured' });
    expect(callsOf(approving, from).map((call) => [call.idempotencyKey, call.status])).toEqual([
      [`${key}:capture`, 503],
      [`${key}:capture`, 429],
      [`${key}:capture`, 200],
    ]);
  });

  it('an answer lost after Stripe acted: the library tries once more, then PspUnavailableError; every try the same key', async () => {
    const key = workflowId();
    const from = approving.proxy.calls.length;
    // Both the call and the library's one retry of a closed connection are carried out upstream, then cut.
    approving.proxy.inject({ kind: 'drop' }, { kind: 'drop' });
    await expect(approving.connector.refund(stripeMovement(`${key}:refund:ref_2`))).rejects.toBeInstanceOf(
      PspUnavailableError,
    );
    await expect(approving.connector.refund(stripeMovement(`${key}:refund:ref_2`))).resolves.toMatchObject({
      kind: 'refunded',
    });
    const calls = callsOf(approving, from);
    expect(calls.map((call) => call.status)).toEqual([200, 200, 200]);
    expect(new Set(calls.map((call) => call.idempotencyKey))).toEqual(new Set([`${key}:refund:ref_2:refund`]));
  });

  it('the card goes only into the PaymentMethod request: no other request, no answer, no stripe-mock log holds it', () => {
    for (const p of [bundled, approving, challenging]) {
      for (const call of p.proxy.calls) {
        expect(cardDataIn(`answer to ${call.method} ${call.path}`, call.answer ?? '')).toEqual([]);
        if (call.path === '/v1/payment_methods') continue;
        expect(cardDataIn(`${call.method} ${call.path}`, call.rawBody)).toEqual([]);
      }
    }
    for (const mock of [approving.mock!, challenging.mock!])
      expect(cardDataIn(mock.server.logFile, readFileSync(mock.server.logFile, 'utf8'))).toEqual([]);
  });
});
