import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import { loadConfig } from '../../src/config';
import { cardDataIn } from '../support/card-scan';
import { stripeMockClient, stripeMockUrl } from '../support/stripe-mock';

/**
 * stripe-mock, Stripe's API simulator that the Stripe connector's tests run against, reached through the official
 * library: what it checks (each request against Stripe's API description) and what it does not (it keeps no state
 * and runs no payment: every answer is a fixture with the request's own fields copied in).
 */
const stripe = stripeMockClient();
const returnUrl = 'https://merchant.example/3ds-return';

describe('stripe-mock, the Stripe API simulator', () => {
  it('answers as stripe-mock, at the version tools/binaries.ts pins, on loopback', async () => {
    const answer = await fetch(stripeMockUrl());
    expect(answer.status).toBe(401);
    expect(answer.headers.get('stripe-mock-version')).toBe('v0.203.0');
    expect(stripeMockUrl().hostname).toBe('127.0.0.1');
  });

  it('takes a card payment method and a manual-capture payment intent through capture, cancel and refund', async () => {
    const method = await stripe.paymentMethods.create({
      type: 'card',
      card: { number: '4242424242424242', exp_month: 12, exp_year: 2030, cvc: '123' },
    });
    expect(method).toMatchObject({ object: 'payment_method', type: 'card', card: { last4: '4242', brand: 'visa' } });
    expect(method.id).toMatch(/^pm_/);

    const intent = await stripe.paymentIntents.create({
      amount: 1999,
      currency: 'eur',
      capture_method: 'manual',
      confirm: true,
      payment_method: method.id,
      return_url: returnUrl,
    });
    // The fields sent come back as sent…
    expect(intent).toMatchObject({
      object: 'payment_intent',
      amount: 1999,
      currency: 'eur',
      capture_method: 'manual',
      payment_method: method.id,
    });
    expect(intent.id).toMatch(/^pi_/);
    // …the rest is the fixture's: confirm=true with a good card still says requires_payment_method.
    expect(intent.status).toBe('requires_payment_method');

    const captured = await stripe.paymentIntents.capture(intent.id, { amount_to_capture: 1999 });
    expect(captured).toMatchObject({ object: 'payment_intent', id: intent.id, status: 'requires_payment_method' });
    // Stateless: the intent read back is the fixture's (its amount, nothing received), not the one created above.
    expect(captured.amount_received).toBe(0);

    const canceled = await stripe.paymentIntents.cancel(intent.id, { cancellation_reason: 'requested_by_customer' });
    expect(canceled).toMatchObject({ id: intent.id, cancellation_reason: 'requested_by_customer' });

    const refund = await stripe.refunds.create({ payment_intent: intent.id, amount: 500 });
    expect(refund).toMatchObject({ object: 'refund', payment_intent: intent.id, amount: 500, status: 'succeeded' });
    expect(refund.id).toMatch(/^re_/);
  });

  it('refuses what the API description refuses, with the StripeInvalidRequestError that Stripe gives', async () => {
    const missingAmount = stripe.paymentIntents.create({ currency: 'eur' } as Stripe.PaymentIntentCreateParams);
    await expect(missingAmount).rejects.toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    await expect(missingAmount).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      statusCode: 400,
      message: expect.stringContaining("object property 'amount' is required"),
    });

    // The library's types take any string here; stripe-mock holds it to the enumeration, as Stripe does.
    const unknownReason = stripe.paymentIntents.cancel('pi_any', { cancellation_reason: 'changed_my_mind' });
    await expect(unknownReason).rejects.toMatchObject({
      type: 'StripeInvalidRequestError',
      message: expect.stringContaining("'cancellation_reason' validation failed: value is not in enumeration"),
    });

    // Only the shape is checked, not the meaning: a negative amount and a made-up currency go through.
    const odd = await stripe.paymentIntents.create({ amount: -5, currency: 'zzz' });
    expect(odd).toMatchObject({ amount: -5, currency: 'zzz' });
  });

  it('echoes an Idempotency-Key without replaying the first answer for it', async () => {
    const idempotencyKey = `settleflow-${randomUUID()}`;
    const first = await stripe.paymentIntents.create({ amount: 1000, currency: 'eur' }, { idempotencyKey });
    const second = await stripe.paymentIntents.create({ amount: 2000, currency: 'eur' }, { idempotencyKey });
    expect(first.lastResponse.idempotencyKey).toBe(idempotencyKey);
    expect(second.lastResponse.idempotencyKey).toBe(idempotencyKey);
    // Stripe would answer the second with the first's result, or refuse its changed parameters.
    expect(second.id).not.toBe(first.id);
    expect(second.amount).toBe(2000);
    // The library keys every POST by itself when the caller does not.
    const unkeyed = await stripe.paymentIntents.create({ amount: 1000, currency: 'eur' });
    expect(unkeyed.lastResponse.idempotencyKey).toMatch(/^stripe-node-retry-/);
  });

  it('keeps the card numbers and CVCs it was sent out of its log', () => {
    // It prints every request's parameters on stdout, which tools/servers.ts does not keep.
    const logFile = path.join(loadConfig(process.env).dataDir, 'logs', 'stripe-mock.log');
    expect(cardDataIn(logFile, readFileSync(logFile, 'utf8'))).toEqual([]);
  });
});
