import type { Db } from 'mongodb';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { countLiveCards } from '../store/vault';
import type { PriorState } from '../store/payment-records';
import { backlogSummary } from '../store/webhook-attempts';
import { FINAL_STATUSES, type Mode, type PaymentStatus, type ProjectionInput } from '../../workflows/vocabulary';

/**
 * Why a payment failed, as a bounded label: the final Message the workflow wrote (its own, or the connector's
 * reading of the processor's decline, activities/psp/) sorted into a fixed set; anything else is `other`, so a
 * processor's new wording never grows the number of series. Ordered: the first matching prefix wins.
 */
const DECLINE_REASONS: [prefix: string, reason: string][] = [
  ['Insufficient funds', 'insufficient_funds'],
  ['Expired card', 'expired_card'],
  ['Incorrect CVV', 'incorrect_cvc'],
  ['Incorrect card number', 'incorrect_number'],
  ['Incorrect expiry date', 'incorrect_expiry'],
  ['Card refused by the issuer: do not retry', 'do_not_retry'],
  ['Card limit exceeded', 'limit_exceeded'],
  ['Card not supported', 'not_supported'],
  ['Currency not supported', 'not_supported'],
  ['3-D Secure authentication required', 'authentication_required'],
  ['3-D Secure authentication failed', 'authentication_failed'],
  ['3DSecure authentication failed', 'authentication_failed'],
  ['Processing error at the issuer', 'issuer_unavailable'],
  ['Issuer unavailable', 'issuer_unavailable'],
  ['Card declined', 'card_declined'],
  ['Capture failed', 'capture_failed'],
  ['Payment could not be completed: card data expired', 'card_unavailable'],
  ['Payment could not be completed: the processor did not decide', 'undecided'],
  ['Payment could not be completed', 'not_completed'],
];

export function declineReason(message: string | undefined): string {
  if (message === undefined) return 'other';
  for (const [prefix, reason] of DECLINE_REASONS) if (message.startsWith(prefix)) return reason;
  return 'other';
}

/** From a payment's acceptance to its final status: a second or so, or a cardholder's whole 3-D Secure challenge. */
const DECISION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600];
/** From an event's filing to its acknowledgement: one attempt, or the whole retry schedule. */
const DELIVERY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400];

/** How long a scrape waits for the store before it answers with the last values it read. */
const STORE_READ_TIMEOUT_MS = 2_000;

/** What the record says about a payment, as labels: its mode and connector (`unknown` on records older than it). */
interface PaymentLabels {
  mode: Mode;
  connector?: string;
  merchantId: string;
}

/** One outcome of one webhook attempt (docs/metrics.md, "Webhooks"). */
export type AttemptOutcome = 'delivered' | 'retrying' | 'gave_up' | 'refused';

function timeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`store read took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The worker process's metrics of payments and webhooks (docs/metrics.md). Facts are counted where they happen,
 * once each: a payment's transitions by the projection write that changed its record (the record's `seq` guard
 * turns every retried or replayed write into a no-op, seen here as no prior state), its acceptance by the
 * insert that created its record, a webhook attempt by the activity that made it (one try per activity).
 */
export class WorkerMetrics {
  private readonly byMerchant: boolean;
  private readonly accepted: Counter<string>;
  private readonly final: Counter<string>;
  private readonly declines: Counter<string>;
  private readonly decision: Histogram<string>;
  private readonly threeDSAsked: Counter<string>;
  private readonly threeDSAnswered: Counter<string>;
  private readonly threeDSTimedOut: Counter<string>;
  private readonly refunds: Counter<string>;
  private readonly attempts: Counter<string>;
  private readonly attemptDuration: Histogram<string>;
  private readonly deliveryLatency: Histogram<string>;
  private readonly storeErrors: Counter<string>;
  private backlog: Promise<{ waiting: number; oldest: Date | null }> | undefined;

  constructor(registry: Registry, db: Db, options: { merchantLabel: boolean }) {
    this.byMerchant = options.merchantLabel;
    const registers = [registry];
    const payment = (...more: string[]) => ['mode', 'connector', ...more, ...(this.byMerchant ? ['merchant'] : [])];
    this.accepted = new Counter({
      name: 'settleflow_payments_accepted_total',
      help: "Payments accepted: their workflow started and recorded them (the record's first write)",
      labelNames: payment(),
      registers,
    });
    this.final = new Counter({
      name: 'settleflow_payments_final_total',
      help: 'Payments that reached a final status (captured, failed, cancelled, rejected_pw)',
      labelNames: payment('status'),
      registers,
    });
    this.declines = new Counter({
      name: 'settleflow_payment_declines_total',
      help: 'Payments that ended failed or rejected_pw, by a bounded reason read from their final message',
      labelNames: payment('reason'),
      registers,
    });
    this.decision = new Histogram({
      name: 'settleflow_payment_decision_seconds',
      help: 'From a payment being recorded to its final status; threeds=yes when a challenge was offered',
      labelNames: ['mode', 'connector', 'status', 'threeds'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.threeDSAsked = new Counter({
      name: 'settleflow_threeds_challenges_asked_total',
      help: '3-D Secure challenges offered to a cardholder',
      labelNames: payment(),
      registers,
    });
    this.threeDSAnswered = new Counter({
      name: 'settleflow_threeds_challenges_answered_total',
      help: '3-D Secure challenges the cardholder finished in time: result=failed when authentication failed, passed otherwise',
      labelNames: payment('result'),
      registers,
    });
    this.threeDSTimedOut = new Counter({
      name: 'settleflow_threeds_challenges_timed_out_total',
      help: '3-D Secure challenges not finished within the account timeout (the payment ends cancelled)',
      labelNames: payment(),
      registers,
    });
    this.refunds = new Counter({
      name: 'settleflow_refunds_total',
      help: 'Refunds the processor was asked for, by outcome (succeeded, failed)',
      labelNames: payment('outcome'),
      registers,
    });
    this.attempts = new Counter({
      name: 'settleflow_webhook_attempts_total',
      help: 'Webhook delivery attempts by outcome: delivered, retrying (failed, another attempt is scheduled), gave_up (failed, the retry bound is over), refused (a target or merchant no retry can fix)',
      labelNames: ['mode', 'outcome', ...(this.byMerchant ? ['merchant'] : [])],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'settleflow_webhook_attempt_duration_seconds',
      help: 'One webhook attempt: the POST to the merchant and recording it',
      labelNames: ['mode', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15],
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'settleflow_webhook_delivery_latency_seconds',
      help: 'From an event being filed (its first attempt) to the merchant acknowledging it, retries included',
      labelNames: ['mode'],
      buckets: DELIVERY_BUCKETS,
      registers,
    });
    this.storeErrors = new Counter({
      name: 'settleflow_metrics_store_read_errors_total',
      help: 'Scrapes whose store-backed gauges could not be read (the gauges then show their last values)',
      registers,
    });

    const vaultEntries: Gauge = new Gauge({
      name: 'settleflow_vault_entries',
      help: 'Card-vault entries alive (not past their expiry): payments still being authorized, and copies the sweeps will delete',
      registers,
      collect: async () => {
        try {
          vaultEntries.set(await timeout(countLiveCards(db), STORE_READ_TIMEOUT_MS));
        } catch {
          this.storeErrors.inc();
        }
      },
    });
    const backlog: Gauge = new Gauge({
      name: 'settleflow_webhook_retry_backlog',
      help: 'Webhook events that failed and wait for another attempt (store-wide: every worker reports the same value)',
      registers,
      collect: async () => {
        const summary = await this.readBacklog(db);
        if (summary) backlog.set(summary.waiting);
      },
    });
    const oldest: Gauge = new Gauge({
      name: 'settleflow_webhook_oldest_undelivered_age_seconds',
      help: 'Age of the oldest event in the retry backlog (0 when it is empty; store-wide like the backlog)',
      registers,
      collect: async () => {
        const summary = await this.readBacklog(db);
        if (summary) oldest.set(summary.oldest ? Math.max(0, (Date.now() - summary.oldest.getTime()) / 1000) : 0);
      },
    });
  }

  /** One read of the backlog per scrape, shared by its two gauges (collected concurrently). */
  private async readBacklog(db: Db): Promise<{ waiting: number; oldest: Date | null } | undefined> {
    if (!this.backlog) {
      this.backlog = timeout(backlogSummary(db), STORE_READ_TIMEOUT_MS);
      const clear = () => setTimeout(() => (this.backlog = undefined), 500).unref();
      this.backlog.then(clear, clear);
    }
    try {
      return await this.backlog;
    } catch {
      this.storeErrors.inc();
      return undefined;
    }
  }

  private labels(payment: PaymentLabels, more: Record<string, string> = {}): Record<string, string> {
    return {
      mode: payment.mode,
      connector: payment.connector ?? 'unknown',
      ...more,
      ...(this.byMerchant ? { merchant: payment.merchantId } : {}),
    };
  }

  /** The payment's record was created (not found there already by a retried write). */
  paymentAccepted(payment: PaymentLabels): void {
    this.accepted.inc(this.labels(payment));
  }

  /** A projection write changed the record from `prior`: counts whatever became true by it. */
  projectionApplied(prior: PriorState, write: ProjectionInput): void {
    const wasFinal = FINAL_STATUSES.includes(prior.status);
    const next: PaymentStatus | undefined = write.status;
    if (write.threeDSUrl !== undefined && prior.threeDSUrl === undefined) this.threeDSAsked.inc(this.labels(prior));
    const challengeOpen = prior.threeDSUrl !== undefined && prior.status === 'pending';
    if (challengeOpen && next !== undefined && next !== 'pending') {
      if (next === 'cancelled') this.threeDSTimedOut.inc(this.labels(prior));
      else this.threeDSAnswered.inc(this.labels(prior, { result: next === 'rejected_pw' ? 'failed' : 'passed' }));
    }
    if (next !== undefined && !wasFinal && FINAL_STATUSES.includes(next)) {
      this.final.inc(this.labels(prior, { status: next }));
      if (next === 'failed' || next === 'rejected_pw')
        this.declines.inc(this.labels(prior, { reason: declineReason(write.message) }));
      const seconds = (Date.parse(write.date) - prior.createdAt.getTime()) / 1000;
      if (Number.isFinite(seconds))
        this.decision.observe(
          {
            mode: prior.mode,
            connector: prior.connector ?? 'unknown',
            status: next,
            threeds: prior.threeDSUrl !== undefined || write.threeDSUrl !== undefined ? 'yes' : 'no',
          },
          Math.max(0, seconds),
        );
    }
    if (write.refund !== undefined)
      this.refunds.inc(this.labels(prior, { outcome: write.refund.status === 'captured' ? 'succeeded' : 'failed' }));
  }

  /** One webhook attempt, made by the delivery activity; `filedAt` is when the event was filed. */
  webhookAttempt(
    event: { mode: Mode; merchantId: string; createdAt: Date },
    outcome: AttemptOutcome,
    seconds: number,
  ): void {
    this.attempts.inc({ mode: event.mode, outcome, ...(this.byMerchant ? { merchant: event.merchantId } : {}) });
    this.attemptDuration.observe({ mode: event.mode, outcome }, seconds);
    if (outcome === 'delivered')
      this.deliveryLatency.observe({ mode: event.mode }, Math.max(0, (Date.now() - event.createdAt.getTime()) / 1000));
  }
}
