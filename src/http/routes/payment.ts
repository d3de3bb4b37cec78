import type { Client } from '@temporalio/client';
import type { Middleware } from 'koa';
import type { Db } from 'mongodb';
import type { Principal } from '../../auth/verifier';
import { startPayment, type StartPaymentPorts } from '../../commands/start-payment';
import type { Config } from '../../config';
import { randomBase62 } from '../../crypto';
import { maskPan } from '../../epro/card';
import type { ApiMetrics } from '../../metrics/api-metrics';
import { customerDetails } from '../../epro/customer';
import { success } from '../../epro/envelope';
import { type PaymentRequest, validatePaymentRequest } from '../../epro/payment-request';
import { paymentResult } from '../../epro/result';
import { findPayment } from '../../store/payment-records';
import { deleteCard, vaultCard } from '../../store/vault';
import { startPayment as startPaymentWorkflow, workflowExistsWithin } from '../../temporal/payment-workflows';
import { type Decision, type PaymentInput, paymentKey, paymentWorkflowId } from '../../../workflows/vocabulary';
import type { EproState } from '../epro-middleware';

export interface PaymentDeps {
  db: Db;
  client: Client;
  config: Config;
  metrics?: ApiMetrics;
}

const PENDING_MESSAGE = 'Payment is being processed';

function accountRules(principal: Principal) {
  const { merchant, mode } = principal;
  return { ...merchant, mode };
}

/** The input of the payment's workflow: everything it needs, and no card data. */
function workflowInput(
  deps: PaymentDeps,
  principal: Principal,
  request: PaymentRequest,
  reference: string,
): Omit<PaymentInput, 'vaultToken'> {
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
    connector: mode === 'test' ? (merchant.sandboxConnector ?? 'simulator') : merchant.liveConnector!,
    customer: customerDetails(request),
    callbackUrl: request.callbackUrl,
    returnUrl: request.returnUrl,
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
 * How long a start that was not confirmed is asked after before its card is dropped (src/commands/start-payment.ts):
 * with the default 10 s wait budget and a 3 s bound per question, the answer still comes in under 25 s.
 */
const START_CONFIRMATION_PATIENCE_MS = 10_000;

/**
 * `POST /v1/payment/direct`: validate, start the payment (src/commands/start-payment.ts owns what that leaves
 * behind), answer its first decision.
 */
export function paymentHandler(deps: PaymentDeps): Middleware<EproState> {
  const ports: StartPaymentPorts = {
    recordExists: async (key) => (await findPayment(deps.db, key)) !== null,
    vaultCard: (key, card, ttlMs) => vaultCard(deps.db, deps.config.vaultKeys, key, card, ttlMs),
    deleteCard: (token) => deleteCard(deps.db, token),
    startWorkflow: (input, memo) =>
      startPaymentWorkflow(deps.client, deps.config.temporal.taskQueue, input, deps.config.apiWaitBudgetMs, memo),
    // After the wait budget, a little more patience before a start is given up as unknown (its card dropped).
    workflowExists: (workflowId) => workflowExistsWithin(deps.client, workflowId, START_CONFIRMATION_PATIENCE_MS),
  };
  return async (ctx) => {
    const { principal } = ctx.state;
    const request = await validatePaymentRequest(ctx.state.body, { account: accountRules(principal), now: new Date() });
    const reference = `pr_${randomBase62(24)}`;
    const input = workflowInput(deps, principal, request, reference);
    const workflowId = paymentWorkflowId(principal.mode, principal.merchant._id, request.tid);
    const started = await startPayment(ports, {
      input,
      workflowId,
      card: request.card,
      requestId: ctx.state.requestId,
    });
    if (started.kind !== 'decided') deps.metrics?.pendingAnswers.inc({ mode: principal.mode });
    const decision: Decision =
      started.kind === 'decided'
        ? started.decision
        : { status: 'pending', message: PENDING_MESSAGE, date: new Date().toISOString() };

    ctx.body = success(
      paymentResult(
        input,
        { status: decision.status, message: decision.message, date: new Date(decision.date) },
        {
          used: decision.threeDSUrl !== undefined || request.threeDS,
          url: decision.threeDSUrl,
        },
      ),
    );
  };
}
