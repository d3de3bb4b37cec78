import type { Client } from '@temporalio/client';
import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import type { Principal } from '../../auth/verifier';
import type { Config } from '../../config';
import { hmacSha256Hex, randomBase62 } from '../../crypto';
import { maskPan } from '../../epro/card';
import { customerDetails } from '../../epro/customer';
import { success } from '../../epro/envelope';
import { errors } from '../../epro/errors';
import { type PaymentRequest, validatePaymentRequest } from '../../epro/payment-request';
import { paymentResult } from '../../epro/result';
import { findPayment, markAttemptOver, markStarted, type PaymentDoc, paymentKey, releaseReservation, reserveTid, restoreStarted, resumeReservation } from '../../store/payments';
import { recordReference } from '../../store/references';
import { deleteCard, vaultCard } from '../../store/vault';
import { paymentWorkflowId, startPayment, type StartResult, workflowExists } from '../../temporal/payments';
import type { Decision, PaymentInput } from '../../../workflows/messages';
import type { EproState } from '../epro';

export interface PaymentDeps {
  db: Db;
  client: Client;
  config: Config;
}

const PENDING_MESSAGE = 'Payment is being processed';
// Card data waits in the vault at most through a 3-D Secure challenge; the sweep removes it after this margin.
const VAULT_MARGIN_MS = 10 * 60_000;

function accountRules(principal: Principal) {
  const { merchant, mode } = principal;
  return { ...merchant, mode };
}

/** The input of the payment's workflow: everything it needs, and no card data. */
function workflowInput(deps: PaymentDeps, principal: Principal, request: PaymentRequest, reference: string, vaultToken: string): PaymentInput {
  const { merchant, mode } = principal;
  const { webhook } = deps.config;
  return {
    paymentKey: paymentKey(mode, merchant._id, request.tid),
    mode,
    merchantId: merchant._id,
    tid: request.tid,
    reference,
    uid: request.uid,
    amount: request.amount,
    currency: merchant.currency,
    maskedPan: maskPan(request.card.number),
    brand: request.card.brand,
    vaultToken,
    connector: mode === 'test' ? 'simulator' : merchant.liveConnector!,
    customer: customerDetails(request),
    callbackUrl: request.callbackUrl,
    threeDSRequested: request.threeDS,
    threeDSUrl: `${deps.config.publicBaseUrl}/v1/3ds/${reference}`,
    threeDSTimeoutMs: merchant.threeDSTimeoutMs,
    refundWindowMs: merchant.refundWindowMs,
    webhook: {
      attemptTimeoutMs: webhook.attemptTimeoutMs,
      initialBackoffMs: webhook.initialBackoffMs,
      retryForMs: mode === 'live' ? webhook.maxRetryLiveMs : webhook.maxRetrySandboxMs,
    },
  };
}

/**
 * `POST /v1/payment/direct`. After validation, the order is what makes retries safe: reserve the Tid (the
 * database's `_id` says who wins), vault the card, then start the workflow and wait for its decision. If the start
 * provably failed, the reservation is released and the merchant gets 9 (retry with the same Tid); if it is
 * uncertain, the reservation stays, holding the workflow input, and an identical retry or the worker's sweep
 * starts it. A Tid never sits reserved with nothing behind it.
 */
export function paymentHandler(deps: PaymentDeps): Middleware<EproState> {
  return async (ctx) => {
    const { principal } = ctx.state;
    const request = await validatePaymentRequest(ctx.state.body, { account: accountRules(principal), now: new Date() });
    const key = paymentKey(principal.mode, principal.merchant._id, request.tid);
    const digest = hmacSha256Hex(deps.config.vaultKey, `payment-request:${JSON.stringify(request)}`);

    let reference = `pr_${randomBase62(24)}`;
    const vaultToken = await vaultCard(deps.db, deps.config.vaultKey, key, request.card, principal.merchant.threeDSTimeoutMs + VAULT_MARGIN_MS);
    const input = workflowInput(deps, principal, request, reference, vaultToken);
    const now = new Date();
    const reservation: PaymentDoc = {
      _id: key,
      mode: principal.mode,
      merchantId: principal.merchant._id,
      tid: request.tid,
      reference,
      uid: request.uid,
      amount: request.amount,
      currency: principal.merchant.currency,
      maskedPan: input.maskedPan,
      brand: input.brand,
      customer: input.customer,
      workflowId: paymentWorkflowId(principal.mode, principal.merchant._id, request.tid),
      lifecycle: 'reserved',
      requestDigest: digest,
      input,
      status: 'pending',
      message: PENDING_MESSAGE,
      threeDS: request.threeDS,
      returnUrl: request.returnUrl,
      seq: 0,
      createdAt: now,
      updatedAt: now,
    };

    let payment = reservation;
    let staleVaultToken: string | undefined;
    if (!(await reserveTid(deps.db, reservation))) {
      const existing = await findPayment(deps.db, key);
      if (!existing || !mayResume(existing, digest, deps.config.apiWaitBudgetMs)) {
        await deleteCard(deps.db, vaultToken);
        throw errors.tidUsed();
      }
      payment = { ...existing, input: { ...existing.input, vaultToken } };
      reference = existing.reference;
      staleVaultToken = existing.input.vaultToken;
      if (!(await resumeReservation(deps.db, key, vaultToken))) {
        // Settled by the reservation sweep a moment ago: the merchant's next retry starts afresh.
        await deleteCard(deps.db, vaultToken);
        throw errors.unavailable();
      }
    }
    let started: StartResult;
    try {
      await recordReference(deps.db, { _id: reference, kind: 'payment', paymentKey: key, merchantId: principal.merchant._id, mode: principal.mode });
      started = await startPayment(deps.client, deps.config.temporal.taskQueue, payment.input, deps.config.apiWaitBudgetMs);
    } catch (err) {
      // Anything failing between the reservation and a confirmed start: the merchant gets 9, the Tid must stay
      // retryable.
      await releaseIfNeverStarted(deps, { key, reference, vaultToken }, payment.workflowId);
      throw err;
    }
    if (started.kind === 'already_started') {
      await markStarted(deps.db, key).catch(() => undefined);
      await deleteCard(deps.db, vaultToken);
      throw errors.tidUsed();
    }
    await recordStart(deps, payment, started.kind === 'decided' ? started.decision : undefined);
    // A resumed reservation's first copy of the card has no workflow to use it.
    if (staleVaultToken) await deleteCard(deps.db, staleVaultToken);
    const decision: Decision =
      started.kind === 'decided' ? started.decision : { status: 'pending', message: PENDING_MESSAGE, date: new Date().toISOString() };

    ctx.body = success(
      paymentResult(payment, { status: decision.status, message: decision.message, date: new Date(decision.date) }, {
        used: decision.threeDSUrl !== undefined || request.threeDS,
        url: decision.threeDSUrl,
      }),
    );
  };
}

/**
 * Records that the workflow started. The workflow's projection writes only update the document, so if the document
 * was released while the start was in flight (a sweep that could not see the workflow yet), it is put back: a
 * payment the merchant was told about always has its record.
 */
async function recordStart(deps: PaymentDeps, payment: PaymentDoc, decision: Decision | undefined): Promise<void> {
  try {
    if (await markStarted(deps.db, payment._id)) return;
    // The workflow's writes so far landed nowhere: the decision it answered is what it had written last.
    const known = decision && {
      status: decision.status, message: decision.message, updatedAt: new Date(decision.date),
      ...(decision.threeDSUrl ? { threeDSUrl: decision.threeDSUrl } : {}),
    };
    await restoreStarted(deps.db, { ...payment, ...known });
    await recordReference(deps.db, { _id: payment.reference, kind: 'payment', paymentKey: payment._id, merchantId: payment.merchantId, mode: payment.mode });
  } catch {
    // The database is away: the workflow's first projection write marks the payment started too.
  }
}

/**
 * Only an identical retry (same request digest) of a reservation whose workflow never started may resume it,
 * and only once the request that made it is surely over (older than the wait budget plus a margin): a concurrent
 * duplicate in flight looks the same, and must get 104, not a second start with a second copy of the card.
 */
function mayResume(existing: PaymentDoc, digest: string, budgetMs: number): boolean {
  const attemptOver = existing.attemptOverAt !== undefined || Date.now() - existing.createdAt.getTime() > budgetMs + 15_000;
  return existing.lifecycle === 'reserved' && existing.requestDigest === digest && attemptOver;
}

/**
 * After a failed or uncertain start (the merchant gets 9): free the Tid if Temporal positively has no such
 * workflow. Otherwise keep the reservation, marked as no longer in flight, so an identical retry resumes it at
 * once; the worker's reservation sweep settles it if no retry comes.
 */
async function releaseIfNeverStarted(deps: PaymentDeps, reservation: { key: string; reference: string; vaultToken: string }, workflowId: string): Promise<void> {
  try {
    if (!(await workflowExists(deps.client, workflowId))) {
      await releaseReservation(deps.db, reservation);
      await deleteCard(deps.db, reservation.vaultToken);
      return;
    }
  } catch {
    // Temporal is unreachable: whether the start landed is unknown.
  }
  await markAttemptOver(deps.db, reservation.key).catch(() => undefined);
}
