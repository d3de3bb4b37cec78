import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Router from '@koa/router';
import type { Client } from '@temporalio/client';
import type { Context } from 'koa';
import type { Db } from 'mongodb';
import type { Config } from '../../config';
import { formatMajorUnits } from '../../epro/money';
import { paymentResult } from '../../epro/result';
import { findMerchant } from '../../store/merchants';
import { findPayment, type PaymentDoc } from '../../store/payment-records';
import { references } from '../../store/references';
import { submitChallengeResult, submitChallengeReturn } from '../../temporal/payment-workflows';
import { type ChallengeAnswer, type Decision } from '../../../workflows/vocabulary';
import { readEproBody } from '../body';
import type { RequestState } from '../request-id';
import { challengePage, messagePage, preparingPage, returnPage } from './pages';

export interface ThreeDSDeps {
  db: Db;
  client: Client;
  config: Config;
}

const HEADINGS: Record<string, string> = {
  captured: 'Payment complete',
  failed: 'Payment declined',
  cancelled: 'Authentication expired',
  rejected_pw: 'Authentication failed',
  pending: 'Payment in progress',
  authorized: 'Payment in progress',
};

/**
 * The form token: an HMAC of the Reference under the key ring's 3DS-token key. It ties the form to this one payment
 * (a tampered Reference or a forged post fails), and the workflow accepts one answer only, so it is single-use.
 * A token issued before a vault key rotation still verifies while the retired key is configured.
 */
export function challengeToken(config: Pick<Config, 'vaultKeys'>, reference: string): string {
  return config.vaultKeys.mac('3ds-token', `3ds-challenge:${reference}`);
}

export function challengeTokenValid(config: Pick<Config, 'vaultKeys'>, reference: string, token: string): boolean {
  return config.vaultKeys.macMatches('3ds-token', `3ds-challenge:${reference}`, token);
}

async function findByReference(db: Db, reference: string): Promise<PaymentDoc | undefined> {
  if (!/^pr_[0-9A-Za-z]{20,64}$/.test(reference)) return undefined;
  const ref = await references(db).findOne({ _id: reference });
  if (!ref || ref.kind !== 'payment') return undefined;
  return (await findPayment(db, ref.paymentKey)) ?? undefined;
}

function render(ctx: Context, status: number, html: string, returnUrl?: string, nonce?: string): void {
  // The page may post only to us and to the merchant's ReturnUrl; no frames (clickjacking), no caching.
  const formTargets = ["'self'", returnUrl ? new URL(returnUrl).origin : ''].filter(Boolean).join(' ');
  ctx.set(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'unsafe-inline'; ${nonce ? `script-src 'nonce-${nonce}'; ` : ''}form-action ${formTargets}; frame-ancestors 'none'; base-uri 'none'`,
  );
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-store');
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = html;
}

function showOutcome(
  ctx: Context,
  payment: PaymentDoc,
  state: Pick<Decision, 'status' | 'message'> & { date: Date },
): void {
  const nonce = randomBytes(16).toString('base64');
  const result = paymentResult(payment, state);
  render(
    ctx,
    200,
    returnPage(HEADINGS[state.status] ?? 'Payment', result, payment.returnUrl, nonce),
    payment.returnUrl,
    nonce,
  );
}

/**
 * The hosted page that answers a challenge with two buttons is the sandbox's (docs/sandbox.md). A live payment,
 * or one whose processor hosts the challenge, never shows it and never takes its answer.
 */
function sandboxPageServes(payment: PaymentDoc): boolean {
  return payment.mode === 'test' && !payment.challengeRedirectUrl;
}

const NOT_SANDBOX = 'This payment is authenticated by its processor, not on this page.';

/** The outcome the workflow answered an accepted challenge with. */
function showDecision(ctx: Context, payment: PaymentDoc, decision: Decision): void {
  showOutcome(ctx, payment, { status: decision.status, message: decision.message, date: new Date(decision.date) });
}

const CHALLENGE_RETRIES = 10;
const CHALLENGE_RETRY_MS = 300;

/** The workflow has not reached its challenge wait yet (as opposed to: already answered, or timed out). */
function isEarly(answer: ChallengeAnswer | { closed: true }): boolean {
  return 'accepted' in answer && !answer.accepted && answer.reason === 'not_waiting' && answer.status === 'pending';
}

export function threeDSRoutes(deps: ThreeDSDeps): Router<RequestState> {
  async function showChallenge(ctx: Context, payment: PaymentDoc): Promise<void> {
    const merchant = await findMerchant(deps.db, payment.merchantId);
    render(
      ctx,
      200,
      challengePage({
        reference: payment.reference,
        merchantName: merchant?.name ?? 'Merchant',
        amount: `${formatMajorUnits(payment.amount, payment.currency)} ${payment.currency}`,
        maskedPan: payment.maskedPan,
        token: challengeToken(deps.config, payment.reference),
      }),
    );
  }

  const router = new Router<RequestState>();
  // A customer's browser gets a page, never a stack trace or a bare 500.
  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      ctx.state.log.error({ err }, '3ds page failed');
      render(ctx, 503, messagePage('Temporarily unavailable', 'Please try again in a moment.'));
    }
  });

  router.get('/v1/3ds/:reference', async (ctx) => {
    const payment = await findByReference(deps.db, ctx.params.reference!);
    if (!payment) return render(ctx, 404, messagePage('Unknown payment', 'This authentication link is not valid.'));
    // 3DS was asked for, but the challenge is not ready yet (the workflow has not reached it): not an outcome.
    if (payment.status === 'pending' && !payment.threeDSUrl && payment.threeDS)
      return render(ctx, 200, preparingPage());
    if (payment.status !== 'pending' || !payment.threeDSUrl) {
      return showOutcome(ctx, payment, { status: payment.status, message: payment.message, date: payment.updatedAt });
    }
    // The processor hosts this challenge: the cardholder goes to its page, and comes back to /return below.
    if (payment.challengeRedirectUrl) {
      ctx.set('Cache-Control', 'no-store');
      ctx.set('Referrer-Policy', 'no-referrer');
      return ctx.redirect(payment.challengeRedirectUrl);
    }
    if (!sandboxPageServes(payment)) return render(ctx, 404, messagePage('Unknown payment', NOT_SANDBOX));
    await showChallenge(ctx, payment);
  });

  // Where the processor sends the cardholder back after its challenge (docs/3d-secure.md). Whatever the query
  // says, the workflow asks the processor itself: a tampered return changes nothing.
  router.get('/v1/3ds/:reference/return', async (ctx) => {
    const payment = await findByReference(deps.db, ctx.params.reference!);
    if (!payment) return render(ctx, 404, messagePage('Unknown payment', 'This authentication link is not valid.'));
    if (payment.status === 'pending' && payment.challengeRedirectUrl) {
      const answer = await submitChallengeReturn(deps.client, payment.workflowId, deps.config.apiWaitBudgetMs);
      if ('accepted' in answer && answer.accepted) return showDecision(ctx, payment, answer.decision);
    }
    const current = (await findPayment(deps.db, payment._id)) ?? payment;
    showOutcome(ctx, current, { status: current.status, message: current.message, date: current.updatedAt });
  });

  router.post('/v1/3ds/:reference', async (ctx) => {
    const reference = ctx.params.reference!;
    const payment = await findByReference(deps.db, reference);
    if (!payment) return render(ctx, 404, messagePage('Unknown payment', 'This authentication link is not valid.'));
    let form: Record<string, unknown>;
    try {
      form = await readEproBody(ctx);
    } catch {
      return render(ctx, 400, messagePage('Invalid request', 'The form could not be read.'));
    }
    if (!sandboxPageServes(payment)) return render(ctx, 404, messagePage('Unknown payment', NOT_SANDBOX));
    const result = form.result;
    const token = typeof form.token === 'string' ? form.token : '';
    if ((result !== 'approved' && result !== 'failed') || !challengeTokenValid(deps.config, reference, token)) {
      return render(ctx, 403, messagePage('Invalid request', 'This form is not valid for this payment.'));
    }

    const submit = () => submitChallengeResult(deps.client, payment.workflowId, result, deps.config.apiWaitBudgetMs);
    let answer = await submit();
    // The record can offer the challenge a moment before the workflow waits for it: a worker that died after
    // writing it replays up to the wait on another worker, and an answer arriving meanwhile is "not waiting". The
    // answer is tried again briefly; if the workflow is still not there, the form is shown again.
    for (let retry = 0; retry < CHALLENGE_RETRIES && isEarly(answer); retry++) {
      await sleep(CHALLENGE_RETRY_MS);
      answer = await submit();
    }
    if ('accepted' in answer && answer.accepted) return showDecision(ctx, payment, answer.decision);
    // A second submission, or one after the timeout: no state change, just the payment as it stands.
    const current = (await findPayment(deps.db, payment._id)) ?? payment;
    if (isEarly(answer) && current.status === 'pending' && current.threeDSUrl) return showChallenge(ctx, current);
    showOutcome(ctx, current, { status: current.status, message: current.message, date: current.updatedAt });
  });

  return router;
}
