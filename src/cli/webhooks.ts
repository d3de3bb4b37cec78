import { type Command, InvalidArgumentError, Option } from 'commander';
import type { Db } from 'mongodb';
import { deliverEvent } from '../webhooks/deliver';
import { type Mode, paymentKey } from '../../workflows/vocabulary';
import { findPayment, type PaymentDoc } from '../store/payment-records';
import { references } from '../store/references';
import { deliveryIdsOf, deliveryLog, webhookEvents } from '../store/webhook-attempts';
import { print, withMongo } from './shared';

interface Target {
  merchant?: string;
  mode: Mode;
  json?: boolean;
}

/** A payment by its `pr_…`/`ref_…` Reference (unique), or by Tid with the merchant it belongs to. */
async function findTarget(db: Db, target: string, opts: Target): Promise<PaymentDoc> {
  let key: string | undefined;
  if (/^(pr|ref)_/.test(target)) {
    key = (await references(db).findOne({ _id: target }))?.paymentKey;
  } else {
    if (!opts.merchant) throw new InvalidArgumentError('a Tid needs --merchant (or pass the payment Reference)');
    key = paymentKey(opts.mode, opts.merchant, target);
  }
  const payment = key ? await findPayment(db, key) : null;
  if (!payment) throw new Error(`no payment ${target}`);
  return payment;
}

const when = (date?: Date | null) => (date ? date.toISOString() : '-');

/** `webhooks TID|REFERENCE` (the delivery log) and `webhooks resend …` (deliver a past event again, same id). */
export function registerWebhookCommands(program: Command): void {
  const targetOptions = (command: Command) =>
    command
      .option('--merchant <merchantId>', 'the merchant, when the payment is named by Tid')
      .addOption(new Option('--mode <mode>', 'sandbox (test) or live').choices(['test', 'live']).default('test'))
      .option('--json', 'machine-readable output');

  const webhooks = targetOptions(
    program
      .command('webhooks')
      .description("a payment's webhook deliveries, every attempt")
      .argument('<tidOrReference>'),
  ).action((target: string, opts: Target) =>
    withMongo(async ({ db }) => {
      const payment = await findTarget(db, target, opts);
      const log = await deliveryLog(db, await deliveryIdsOf(db, payment));
      if (opts.json) return print(true, { tid: payment.tid, reference: payment.reference, deliveries: log }, '');
      if (log.length === 0)
        return console.log(`no webhook for ${payment.tid}${payment.callbackUrl ? ' yet' : ' (no CallbackUrl)'}`);
      for (const event of log) {
        console.log(
          `${event.event}  ${event._id}  ${event.delivered ? `delivered ${when(event.deliveredAt)}` : `not delivered, next try ${when(event.nextRetryAt)}`}  → ${event.url}`,
        );
        for (const a of event.attemptLog) {
          console.log(
            `  #${a.attempt}  ${a.at.toISOString()}  ${a.durationMs} ms  ${a.httpStatus ?? a.error ?? ''}${a.nextRetryAt ? `  next ${a.nextRetryAt.toISOString()}` : ''}`,
          );
        }
      }
    }),
  );

  targetOptions(
    webhooks
      .command('resend')
      .description('deliver a past event again, with its original delivery id (receivers dedupe on it)')
      .argument('<tidOrReference>')
      .option('--event <event>', 'which event (default: the latest)'),
  ).action((target: string, _opts: unknown, command: Command) =>
    withMongo(async ({ db }, config) => {
      // The parent `webhooks` command shares option names: read both levels.
      const opts = command.optsWithGlobals<Target & { event?: string }>();
      const payment = await findTarget(db, target, opts);
      const ids = await deliveryIdsOf(db, payment);
      const events = await webhookEvents(db)
        .find({ _id: { $in: ids } })
        .toArray();
      const ordered = ids.map((id) => events.find((e) => e._id === id)).filter((e) => e !== undefined);
      const wanted = opts.event?.toUpperCase();
      const event = wanted ? ordered.filter((e) => e.event === wanted).at(-1) : ordered.at(-1);
      if (!event) throw new Error(`no ${opts.event ?? 'webhook'} event for ${payment.tid}`);
      const outcome = await deliverEvent({ db, config }, event, event.attempts + 1, null);
      print(
        !!opts.json,
        { deliveryId: event._id, event: event.event, ...outcome },
        `${event.event} ${event._id}: ${outcome.delivered ? `delivered (HTTP ${outcome.httpStatus})` : `not delivered: ${outcome.httpStatus ?? outcome.error}`}`,
      );
      if (!outcome.delivered) process.exitCode = 1;
    }),
  );
}
