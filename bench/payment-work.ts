import { writeFileSync } from 'node:fs';
import { createPaymentActivities } from '../activities/payment-activities';
import { createConnectors } from '../activities/psp';
import { randomBase62 } from '../src/crypto';
import { loadConfig } from '../src/config';
import { findPayment } from '../src/store/payment-records';
import { connectMongo } from '../src/store/mongo';
import { paymentKey, paymentWorkflowId } from '../workflows/vocabulary';
import { type LoadResult, startAtRate, summarize } from './load';
import { vaultedTestPayment } from './synthetic-payment';

/**
 * A sandbox payment's own work with Temporal taken out, the floor under the CPU a payment can cost (BENCHMARKS.md,
 * "Method"): in a process of its own, at the rate the payments scenario measured its CPU at, each payment makes, one
 * after the other, what the API does besides starting the workflow (the Tid check, the card into the vault) and what
 * the worker's activities do, called as the workflow calls them: the record, the authorization (the vault, the
 * simulator, the CVV dropped), the `authorized` projection, the capture, the `captured` projection, the card
 * released. The real activity code against the stack's FerretDB, so it follows the code as it changes; no HTTP, no
 * workflow, no request log and no metrics, so whatever a payment costs beyond the engine's workflow plus this is
 * the integration's.
 *
 * Environment: the stack's (MONGODB_URL, MONGODB_DB, the vault keys), BENCH_WORK_MERCHANT, BENCH_WORK_RATE (payments
 * per second), BENCH_WORK_SECONDS, BENCH_WORK_RESULT (where the open-model LoadResult goes).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const merchantId = process.env.BENCH_WORK_MERCHANT ?? '';
  const rate = Number(process.env.BENCH_WORK_RATE);
  const seconds = Number(process.env.BENCH_WORK_SECONDS);
  if (!merchantId || !(rate > 0) || !(seconds > 0)) throw new Error('payment-work: merchant, rate and seconds needed');

  const mongo = await connectMongo(config, { appName: 'settleflow-bench-payment-work' });
  const db = mongo.db;
  const activities = createPaymentActivities({
    db,
    vaultKeys: config.vaultKeys,
    connectors: createConnectors(db),
  });
  const tag = randomBase62(6);

  async function onePayment(n: number): Promise<void> {
    const tid = `work-${tag}-${n}`;
    const key = paymentKey('test', merchantId, tid);
    const workflowId = paymentWorkflowId('test', merchantId, tid);
    // The API: the Tid not used before, the card into the vault.
    if (await findPayment(db, key)) throw new Error(`Tid ${tid} already used`);
    const payment = await vaultedTestPayment(db, config, merchantId, tid);
    const { vaultToken } = payment;
    const account = { merchantId, mode: 'test' as const };
    // The worker: the workflow's activities, in its order, with its inputs.
    await activities.recordPayment({ payment, workflowId, message: 'Payment is being processed', date: now() });
    const authorized = await activities.authorizePayment({
      idempotencyKey: workflowId,
      vaultToken,
      connector: 'simulator',
      account,
      amount: payment.amount,
      currency: payment.currency,
      authenticated: false,
      labels: { workflowId, reference: payment.reference, tid },
      returnUrl: `${payment.threeDSUrl}/return`,
      threeDSRequested: false,
    });
    if (authorized.kind !== 'approved') throw new Error(`authorization ${authorized.kind}`);
    const movement = {
      connector: 'simulator',
      account,
      pspReference: authorized.pspReference,
      amount: payment.amount,
      currency: payment.currency,
    };
    await activities.projectPayment({
      paymentKey: key,
      seq: 1,
      historyLength: 10,
      status: 'authorized',
      message: 'Payment authorized',
      date: now(),
      processorReference: authorized.pspReference,
    });
    const captured = await activities.capturePayment({ idempotencyKey: workflowId, ...movement });
    if (captured.kind !== 'captured') throw new Error(`capture ${captured.kind}`);
    await activities.projectPayment({
      paymentKey: key,
      seq: 2,
      historyLength: 20,
      status: 'captured',
      message: 'Payment was successful',
      date: now(),
    });
    await activities.releaseCard({ vaultToken });
  }

  // Open model, as the payments scenario: one payment starts every 1/rate s whatever the others are doing.
  const latencies: number[] = [];
  const errorKinds: Record<string, number> = {};
  let open = 0;
  let mostOpen = 0;
  const started = performance.now();
  const total = Math.round(rate * seconds);
  const inFlight = await startAtRate(rate, total, (n) => {
    const sent = performance.now();
    mostOpen = Math.max(mostOpen, ++open);
    return onePayment(n)
      .finally(() => open--)
      .then(
        () => void latencies.push(performance.now() - sent),
        (err: unknown) => {
          const kind = err instanceof Error ? err.message : String(err);
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        },
      );
  });
  await Promise.all(inFlight);
  const durationS = (performance.now() - started) / 1000;
  const errors = Object.values(errorKinds).reduce((a, b) => a + b, 0);
  const result: LoadResult = {
    model: 'open',
    targetRate: rate,
    // The most payments under way at once: an open model has no connections of its own.
    connections: mostOpen,
    durationS: Math.round(durationS * 1000) / 1000,
    sent: total,
    achievedRate: Math.round((total / durationS) * 100) / 100,
    completed: latencies.length,
    throughput: Math.round((latencies.length / durationS) * 100) / 100,
    latencyMs: summarize(latencies),
    errors,
    errorKinds,
  };
  writeFileSync(process.env.BENCH_WORK_RESULT ?? '', `${JSON.stringify(result)}\n`);
  await mongo.client.close();
}

const now = () => new Date().toISOString();

main().catch((err: unknown) => {
  process.stderr.write(`payment-work: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
