import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection, WithStartWorkflowOperation, WorkflowUpdateStage } from '@temporalio/client';
import { createMerchant } from '../src/auth/accounts';
import { projectRoot } from '../src/paths';
import { connectMongo } from '../src/store/mongo';
import { temporalConnectionOptions } from '../src/temporal/connection-options';
import { paymentStartOptions } from '../src/temporal/payment-workflows';
import { startStack } from '../tools/stack';
import { decisionUpdate } from '../workflows/messages';
import { PAYMENT_WORKFLOW_TYPE, paymentWorkflowId } from '../workflows/vocabulary';
import { startAtRate } from './load';
import { ResourceSampler } from './resources';
import { benchStackConfig } from './stack-config';
import { vaultedTestPayment } from './synthetic-payment';

/**
 * `npm run build && node dist/bench/workflow-types.js`: the two payment workflow types side by side on one dev
 * stack (BENCHMARKS.md, "Issue 19, third round"). `paymentWorkflow` asks its three patches on every payment (a
 * marker and a `TemporalChangeVersion` upsert each); `paymentWorkflowV2` runs the same body with every change taken
 * and asks nothing. The stack's worker registers both, so only the type differs: payments are started as the API
 * starts them (update-with-start, waiting for the decision) but by type, at one open-model rate, in rounds whose
 * order alternates (A B, B A, …) so that drift falls on both. Per type: CPU per payment of the dev server, the worker
 * and FerretDB, net of their idle CPU, and the history events of a payment.
 *
 * Environment: WT_RATE (payments/s, 8), WT_SECONDS (per window, 30), WT_ROUNDS (4).
 */
const TYPES = ['paymentWorkflow', PAYMENT_WORKFLOW_TYPE] as const;
const PROCESSES = ['temporal', 'worker', 'ferretdb'] as const;

const rate = Number(process.env.WT_RATE ?? 8);
const seconds = Number(process.env.WT_SECONDS ?? 30);
const rounds = Number(process.env.WT_ROUNDS ?? 4);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const round1 = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const dataDir = path.join(projectRoot, '.data', 'bench', `workflow-types-${process.pid}`);
  mkdirSync(dataDir, { recursive: true });
  const stack = await startStack(await benchStackConfig(dataDir), { profile: 'dev' });
  const config = stack.config;
  const mongo = await connectMongo(config, { appName: 'settleflow-bench-workflow-types' });
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const sampler = new ResourceSampler(() => ({
    temporal: stack.temporal?.child.pid,
    worker: stack.worker?.child.pid,
    ferretdb: stack.ferretdb?.child.pid,
  }));
  try {
    const { merchantId } = await createMerchant(mongo.db, config, { name: 'Workflow types bench' });
    let made = 0;

    /** One payment of `type`, started and answered as the API does it. */
    async function pay(type: string): Promise<string> {
      const tid = `wt-${process.pid}-${made++}`;
      const input = await vaultedTestPayment(mongo.db, config, merchantId, tid);
      const workflowId = paymentWorkflowId('test', merchantId, tid);
      const startWorkflowOperation = new WithStartWorkflowOperation(type, {
        ...paymentStartOptions(workflowId, config.temporal.taskQueue, input),
        workflowIdConflictPolicy: 'FAIL',
      });
      const handle = await client.workflow.startUpdateWithStart(decisionUpdate, {
        waitForStage: WorkflowUpdateStage.ACCEPTED,
        startWorkflowOperation,
      });
      const decision = await handle.result();
      if (decision.status !== 'captured') throw new Error(`${type} ${tid}: ${decision.status}`);
      return workflowId;
    }

    /** `count` payments of `type` at `rate` per second, each started on time whatever the others are doing. */
    async function window(type: string, count: number): Promise<string[]> {
      return Promise.all(await startAtRate(rate, count, () => pay(type)));
    }

    // Warm both types (JIT, caches, pools), then the processes' idle CPU, as the bench measures it.
    for (const type of TYPES) await window(type, rate * 5);
    await sleep(5_000);
    sampler.start();
    await sleep(10_000);
    const idle = sampler.stop().usage;

    const perType = new Map<string, { payments: number; cpuMs: Record<string, number>; events: number[] }>(
      TYPES.map((t) => [t, { payments: 0, cpuMs: { temporal: 0, worker: 0, ferretdb: 0 }, events: [] }]),
    );
    const windows: { round: number; type: string; msPerPayment: Record<string, number> }[] = [];
    for (let r = 1; r <= rounds; r++) {
      for (const type of r % 2 === 1 ? TYPES : [...TYPES].reverse()) {
        sampler.start();
        const ids = await window(type, rate * seconds);
        const { usage } = sampler.stop();
        const totals = perType.get(type)!;
        const msPerPayment: Record<string, number> = {};
        for (const key of PROCESSES) {
          const u = usage[key]!;
          const net = Math.max(0, u.cpuMs! - ((idle[key]?.avgCpu ?? 0) / 100) * u.wallMs!);
          totals.cpuMs[key]! += net;
          msPerPayment[key] = round1(net / ids.length);
        }
        totals.payments += ids.length;
        totals.events.push((await client.workflow.getHandle(ids.at(-1)!).describe()).historyLength);
        windows.push({ round: r, type, msPerPayment });
        console.log(`round ${r} ${type}: ${JSON.stringify(msPerPayment)} ms per payment`);
        await sleep(3_000);
      }
    }

    const summary = TYPES.map((type) => {
      const t = perType.get(type)!;
      const ms = Object.fromEntries(PROCESSES.map((key) => [key, round1(t.cpuMs[key]! / t.payments)]));
      const total = round1(PROCESSES.reduce((sum, key) => sum + t.cpuMs[key]!, 0) / t.payments);
      return { type, payments: t.payments, msPerPayment: ms, totalMs: total, historyEventsSoFar: t.events[0] };
    });
    console.log(`\n| per payment, ${rate}/s, ${rounds} rounds of ${seconds} s | ${TYPES.join(' | ')} |`);
    console.log(`|---|${TYPES.map(() => '---:|').join('')}`);
    for (const key of PROCESSES)
      console.log(`| ${key}, CPU ms | ${summary.map((s) => s.msPerPayment[key]).join(' | ')} |`);
    console.log(`| all three, CPU ms | ${summary.map((s) => s.totalMs).join(' | ')} |`);
    console.log(
      `| history events while open (captured, refund window running) | ${summary.map((s) => s.historyEventsSoFar).join(' | ')} |`,
    );
    const file = path.join(
      projectRoot,
      'bench',
      'results',
      `workflow-types-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
    );
    writeFileSync(file, `${JSON.stringify({ rate, seconds, rounds, idle, windows, summary }, null, 2)}\n`);
    console.log(`\nresults: ${path.relative(projectRoot, file)}`);
  } finally {
    await connection.close().catch(() => undefined);
    await mongo.client.close().catch(() => undefined);
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error('workflow-types failed:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
