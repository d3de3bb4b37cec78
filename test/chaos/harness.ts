import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { createMerchant } from '../../src/auth/accounts';
import { loadConfig } from '../../src/config';
import type { PaymentDoc } from '../../src/store/payments';
import { FINAL_STATUSES, type PaymentStatus, stateQuery } from '../../workflows/messages';
import type { ManagedProcess } from '../../tools/process';
import { type Stack, startApiProcess, startStack, startWorkerProcess } from '../../tools/stack';
import { scanForCardData } from '../support/card-scan';
import { paymentBody } from '../support/factories';
import { freePort } from '../../tools/ports';
import { WebhookReceiver } from '../../tools/webhook-receiver';

/**
 * The durability proof: a mixed load through the real API while processes die under it, then invariants checked
 * against everything the system recorded. The merchant side behaves as a real integration does: it retries 9s,
 * timeouts and dropped connections with the same Tid, and on 104 after such a retry it asks the status endpoint.
 */
export interface ChaosOptions {
  scenarios: number;
  concurrency: number;
  /** Faults in the order they fire, spread evenly over the run. */
  faults: Fault[];
  seed: number;
  log: (line: string) => void;
}

export type Fault = 'kill-worker' | 'kill-api' | 'restart-temporal' | 'restart-ferretdb' | 'dual-start' | 'dual-stop';

type Kind = 'approve' | 'decline' | 'transient' | '3ds-approve' | '3ds-fail' | '3ds-abandon' | 'maestro' | 'refund' | 'duplicate' | 'double-refund';

const MIX: [Kind, number][] = [
  ['approve', 30], ['decline', 12], ['transient', 8], ['3ds-approve', 8], ['3ds-fail', 5], ['3ds-abandon', 5],
  ['maestro', 4], ['refund', 16], ['duplicate', 6], ['double-refund', 6],
];

interface Expectation {
  kind: Kind;
  tid: string;
  card: string;
  status: PaymentStatus;
  message?: string;
  refunded: boolean;
}

export interface ChaosReport {
  seed: number;
  durationMs: number;
  figures: [string, number | string][];
  violations: string[];
}

/** Small deterministic PRNG (mulberry32): a failing run can be replayed with its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const FINAL = new Set<string>(FINAL_STATUSES);

interface Envelope {
  Code: number;
  Result?: Record<string, string>;
  Error?: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const random = prng(options.seed);
  const violations: string[] = [];
  const log = options.log;

  // ── The system under test: its own stack, its own ports and data, short lifecycle durations ────────────────
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    FERRETDB_PORT: String(await freePort()),
    DATA_DIR: path.resolve(__dirname, '..', '..', '.data', 'chaos', `run-${process.pid}`),
    MONGODB_DB: 'settleflow_chaos',
    // Long enough that a customer answering during a restart still makes it; abandoned ones end after it.
    THREEDS_TIMEOUT: '30s',
    WEBHOOK_INITIAL_BACKOFF: '200',
    WEBHOOK_MAX_RETRY_SANDBOX: '30m',
    API_WAIT_BUDGET: '8s',
    SWEEP_INTERVAL: '10s',
    KEY_CACHE_TTL: '60s',
  };
  rmSync(env.DATA_DIR!, { recursive: true, force: true });
  const baseEnv = { ...process.env };
  delete baseEnv.TEMPORAL_ADDRESS;
  delete baseEnv.MONGODB_URL;
  const config = loadConfig({ ...baseEnv, ...env });
  const stack: Stack = await startStack(config, { log });
  const secondConfig = loadConfig({ ...baseEnv, ...env, PORT: String(await freePort()) });
  let second: { api: ManagedProcess; worker: ManagedProcess } | undefined;

  const mongo = new MongoClient(config.mongo.url, { retryWrites: false, serverSelectionTimeoutMS: 60_000 });
  const db = mongo.db(config.mongo.dbName);
  const merchant = await createMerchant(db, config, { name: 'Chaos shop' });
  const webhooks = new WebhookReceiver();
  // A merchant endpoint that is flaky on its own: one answer in six is a 500.
  webhooks.respond = () => (random() < 1 / 6 ? 500 : 200);
  const callbackUrl = await webhooks.start();

  // ── The merchant side ───────────────────────────────────────────────────────────────────────────────────
  const apis = () => [stack.apiUrl, ...(second ? [`http://${secondConfig.host}:${secondConfig.port}`] : [])];
  let turn = 0;
  const windows: { from: number; to: number; what: string }[] = [];
  const droppedOutside: string[] = [];
  const accepted = new Map<string, number>();
  const refundsAccepted = new Map<string, number>();
  let requests = 0;
  let retries = 0;
  let code9 = 0;
  let challengesMissed = 0;

  const inWindow = (at: number) => windows.some((w) => at >= w.from - 500 && at <= w.to + 2000);

  async function call(endpoint: 'payment' | 'refund' | 'status', body: Record<string, string>): Promise<Envelope> {
    for (let attempt = 0; ; attempt++) {
      const list = apis();
      const base = list[turn++ % list.length]!;
      const sentAt = Date.now();
      requests++;
      try {
        const res = await fetch(`${base}/v1/${endpoint}/direct`, {
          method: 'POST',
          headers: { 'epro-api-key': merchant.testKey, 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await res.text();
        let envelope: Envelope;
        try {
          envelope = JSON.parse(text) as Envelope;
        } catch {
          violations.push(`${endpoint} answered HTTP ${res.status} with a body that is not JSON`);
          envelope = { Code: 9 };
        }
        if (res.status !== 200 || typeof envelope.Code !== 'number') violations.push(`${endpoint} answered HTTP ${res.status}, Code ${String(envelope.Code)}`);
        if (envelope.Code !== 9) return envelope;
        code9++;
      } catch (err) {
        // A dropped connection is allowed only while an API process is being killed or stopped.
        if (!inWindow(sentAt) && !inWindow(Date.now())) droppedOutside.push(`${endpoint} to ${base}: ${err instanceof Error ? (err.cause as Error | undefined)?.message ?? err.message : String(err)}`);
      }
      retries++;
      if (attempt > 60) throw new Error(`${endpoint} ${JSON.stringify(body)} never answered`);
      await sleep(Math.min(250 * 2 ** Math.min(attempt, 4), 3000));
    }
  }

  async function status(tid: string): Promise<Envelope> {
    return call('status', { Tid: tid });
  }

  /** Pays; on 104 after an attempt that got no answer, the status endpoint tells what happened. */
  async function pay(body: Record<string, string>): Promise<Envelope> {
    for (;;) {
      const answer = await call('payment', body);
      if (answer.Code === 0) accepted.set(body.Tid!, (accepted.get(body.Tid!) ?? 0) + 1);
      if (answer.Code !== 104) return answer;
      const known = await status(body.Tid!);
      if (known.Code === 0) return known;
      // 102: a reservation whose start never happened was released; the merchant pays again with the same Tid.
      await sleep(1000);
    }
  }

  async function until(tid: string, done: (s: Envelope) => boolean, timeoutMs = 180_000): Promise<Envelope> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const answer = await status(tid);
      if (done(answer) || Date.now() > deadline) return answer;
      await sleep(500);
    }
  }

  /**
   * The customer on the hosted page: answers, and keeps trying until the page no longer offers the challenge.
   * Returns whether an answer was taken. While the API or the worker restarts, a customer may not get an answer
   * in before the 3DS timeout: then `cancelled` is the right outcome, counted apart.
   */
  async function challenge(answer: Envelope, result: 'approved' | 'failed'): Promise<boolean> {
    const url = answer.Result?.['3DSecureUrl'];
    if (!url) return false;
    for (let attempt = 0; attempt < 90; attempt++) {
      try {
        const page = await fetch(url, { signal: AbortSignal.timeout(15_000) });
        const html = await page.text();
        const token = /name="token" value="([0-9a-f]{64})"/.exec(html)?.[1];
        if (page.status === 200 && !token) return !html.includes('Authentication expired');
        if (token) {
          const post = await fetch(url, { method: 'POST', body: new URLSearchParams({ token, result }), signal: AbortSignal.timeout(15_000) });
          const outcome = await post.text();
          if (post.status === 200 && !outcome.includes('name="token"')) return !outcome.includes('Authentication expired');
        }
      } catch {
        // the API is being restarted: the customer's browser tries again
      }
      await sleep(1000);
    }
    violations.push(`3DS page for ${answer.Result?.Tid} never answered`);
    return false;
  }

  async function refund(tid: string, parallel: number): Promise<void> {
    await until(tid, (s) => s.Result?.Status === 'captured');
    const answers = await Promise.all(Array.from({ length: parallel }, () => call('refund', { Tid: tid })));
    // A merchant whose refund answers were all refusals (say, its own first attempt timed out and is still in
    // flight) checks the status, and asks again if no refund shows up: at most one can ever happen.
    for (let check = 0; check < 60 && !answers.some((a) => a.Code === 0); check++) {
      if ((await status(tid)).Result?.OperationType === 'refund') break;
      await sleep(1000);
      if (check % 10 === 9) answers.push(await call('refund', { Tid: tid }));
    }
    for (const a of answers) if (a.Code === 0) refundsAccepted.set(tid, (refundsAccepted.get(tid) ?? 0) + 1);
    for (const a of answers) if (a.Code !== 0 && a.Code !== 103) violations.push(`refund of ${tid} answered ${a.Code} ${a.Error}`);
  }

  function pick(): Kind {
    const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
    let roll = random() * total;
    for (const [kind, weight] of MIX) if ((roll -= weight) < 0) return kind;
    return 'approve';
  }

  async function scenario(kind: Kind): Promise<Expectation> {
    const tid = `chaos-${randomUUID()}`;
    const common = { Tid: tid, CallbackUrl: callbackUrl, ReturnUrl: 'https://shop.example/return' };
    const cards: Record<Kind, string> = {
      approve: ['4111111111111111', '4242424242424242', '5555555555554444'][Math.floor(random() * 3)]!,
      decline: ['4000000000000002', '4000000000009995', '4000000000000069'][Math.floor(random() * 3)]!,
      transient: '4000000000000119', '3ds-approve': '4000000000003220', '3ds-fail': '4000000000003220',
      '3ds-abandon': '4000000000003220', maestro: '6759649826438453', refund: '4111111111111111', duplicate: '4242424242424242',
      'double-refund': '5555555555554444',
    };
    const card = cards[kind];
    const body = paymentBody({ ...common, CardNumber: card, ...(kind === 'maestro' ? { '3DS': 'yes' } : {}) });
    const expect: Expectation = { kind, tid, card, status: 'captured', refunded: false };

    if (kind === 'duplicate') {
      await Promise.all([pay(body), pay(body), pay(body)]);
      return expect;
    }
    const answer = await pay(body);
    if (answer.Code !== 0) {
      violations.push(`${kind} ${tid}: payment answered ${answer.Code} ${answer.Error}`);
      return expect;
    }
    switch (kind) {
      case 'decline':
        return { ...expect, status: 'failed', message: { '4000000000000002': 'Card declined', '4000000000009995': 'Insufficient funds', '4000000000000069': 'Expired card' }[card] };
      case '3ds-approve':
      case 'maestro':
        if (await challenge(answer, 'approved')) return expect;
        challengesMissed++;
        return { ...expect, status: 'cancelled' };
      case '3ds-fail':
        if (await challenge(answer, 'failed')) return { ...expect, status: 'rejected_pw' };
        challengesMissed++;
        return { ...expect, status: 'cancelled' };
      case '3ds-abandon':
        return { ...expect, status: 'cancelled' };
      case 'refund':
        await refund(tid, 1);
        return { ...expect, refunded: true };
      case 'double-refund':
        await refund(tid, 2);
        return { ...expect, refunded: true };
      default:
        return expect;
    }
  }

  // ── Faults, fired as the run progresses ──────────────────────────────────────────────────────────────────
  let completed = 0;
  const faultsFired: string[] = [];
  let faultChain: Promise<void> = Promise.resolve();
  const faultAt = options.faults.map((fault, i) => ({ fault, at: Math.floor(((i + 1) * options.scenarios) / (options.faults.length + 1)) }));

  async function inject(fault: Fault): Promise<void> {
    const from = Date.now();
    log(`[chaos] ${fault} at ${completed}/${options.scenarios}`);
    switch (fault) {
      case 'kill-worker': {
        stack.worker!.child.kill('SIGKILL');
        await stack.worker!.exited;
        await sleep(500 + random() * 1500);
        await stack.startWorker();
        break;
      }
      case 'kill-api': {
        // The window opens before the kill: requests in flight at that moment are allowed to drop.
        const window = { from, to: Number.POSITIVE_INFINITY, what: fault };
        windows.push(window);
        stack.api!.child.kill('SIGKILL');
        await stack.api!.exited;
        await sleep(500 + random() * 1000);
        await stack.startApi();
        window.to = Date.now();
        break;
      }
      case 'restart-temporal':
        await stack.restartServer('temporal', 1000 + random() * 2000);
        break;
      case 'restart-ferretdb':
        await stack.restartServer('ferretdb', 1000 + random() * 2000);
        break;
      case 'dual-start':
        second = {
          api: await startApiProcess(secondConfig, {}, 'api-2'),
          worker: await startWorkerProcess(secondConfig, {}, 'worker-2'),
        };
        break;
      case 'dual-stop': {
        const stopping = second;
        const window = { from, to: Number.POSITIVE_INFINITY, what: fault };
        windows.push(window);
        second = undefined;
        await sleep(1000);
        await Promise.all([stopping?.api.stop(), stopping?.worker.stop()]);
        window.to = Date.now();
        break;
      }
    }
    faultsFired.push(fault);
  }

  // ── The run ──────────────────────────────────────────────────────────────────────────────────────────────
  const expectations: Expectation[] = [];
  let next = 0;
  async function lane(): Promise<void> {
    while (next < options.scenarios) {
      next++;
      expectations.push(await scenario(pick()));
      completed++;
      while (faultAt.length > 0 && completed >= faultAt[0]!.at) {
        const { fault } = faultAt.shift()!;
        faultChain = faultChain.then(() => inject(fault));
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  await faultChain;
  if (second) await inject('dual-stop');
  log(`[chaos] load done in ${Math.round((Date.now() - started) / 1000)}s; settling`);

  // ── Settle: every payment final, every final event delivered ─────────────────────────────────────────────
  const payments = db.collection<PaymentDoc>('payments');
  const keyOf = (tid: string) => `test:${merchant.merchantId}:${tid}`;
  const settleDeadline = Date.now() + 180_000;
  let docs: PaymentDoc[];
  for (;;) {
    docs = await payments.find({ merchantId: merchant.merchantId }).toArray();
    const byTid = new Map(docs.map((d) => [d.tid, d]));
    // An expected payment with no record yet is open too: a missing record must fail the run, not end the wait.
    const open = expectations.filter((e) => {
      const d = byTid.get(e.tid);
      return !d || !FINAL.has(d.status) || (e.refunded && d.refund?.status !== 'captured');
    });
    if (open.length === 0 || Date.now() > settleDeadline) break;
    await sleep(1000);
  }
  const expectedEvents = (e: Expectation) => [
    { captured: 'PAYMENT_CAPTURED', failed: 'PAYMENT_FAILED', cancelled: 'PAYMENT_CANCELLED', rejected_pw: 'PAYMENT_REJECTED' }[e.status as 'captured'],
    ...(e.refunded ? ['REFUND_SUCCEEDED'] : []),
  ];
  // Delivered means acknowledged with a 2xx: the flaky endpoint's 500s do not count.
  const received = () =>
    new Set(
      webhooks.received
        .filter((r) => r.answered !== undefined && r.answered < 300)
        .map((r) => `${(JSON.parse(r.rawBody) as { Result: { Tid: string } }).Result.Tid}:${String(r.headers['x-settleflow-event'])}`),
    );
  while (Date.now() < settleDeadline) {
    const got = received();
    if (expectations.every((e) => expectedEvents(e).every((event) => got.has(`${e.tid}:${event}`)))) break;
    await sleep(1000);
  }

  // ── Invariants ───────────────────────────────────────────────────────────────────────────────────────────
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const ledger = db.collection<{ _id: string; operation: string; idempotencyKey: string; outcome: { kind: string } }>('simulator_ledger');
  const ledgerDocs = await ledger.find({}).toArray();
  const byDoc = new Map(docs.map((d) => [d.tid, d]));
  let notFinal = 0;
  let wrongOutcome = 0;
  let doubleCaptures = 0;
  let doubleRefunds = 0;
  let refundsOfUncaptured = 0;
  let projectionMismatch = 0;
  let multiAccepted = 0;
  let vaultLeft: number;
  let eventsMissing = 0;
  let eventIdsNotUnique = 0;

  const deliveriesPerEvent = new Map<string, Set<string>>();
  for (const r of webhooks.received) {
    const tid = (JSON.parse(r.rawBody) as { Result: { Tid: string } }).Result.Tid;
    const key = `${tid}:${String(r.headers['x-settleflow-event'])}`;
    deliveriesPerEvent.set(key, (deliveriesPerEvent.get(key) ?? new Set()).add(String(r.headers['x-settleflow-delivery'])));
  }
  const got = received();

  for (const e of expectations) {
    const doc = byDoc.get(e.tid);
    if (!doc || !FINAL.has(doc.status)) {
      notFinal++;
      violations.push(`${e.kind} ${e.tid}: not final (${doc?.status ?? 'no payment'})`);
      continue;
    }
    if (doc.status !== e.status || (e.message && doc.message !== e.message) || e.refunded !== (doc.refund?.status === 'captured')) {
      wrongOutcome++;
      violations.push(`${e.kind} ${e.tid}: expected ${e.status}${e.refunded ? '+refund' : ''}, got ${doc.status} "${doc.message}"${doc.refund ? ` refund ${doc.refund.status}` : ''}`);
    }
    const moves = ledgerDocs.filter((l) => l.idempotencyKey === doc.workflowId || l.idempotencyKey.startsWith(`${doc.workflowId}:`));
    const captures = moves.filter((l) => l.operation === 'capture').length;
    const refunds = moves.filter((l) => l.operation === 'refund' && l.outcome.kind === 'refunded').length;
    if (captures > 1) doubleCaptures++;
    if (refunds > 1) doubleRefunds++;
    if (refunds > 0 && captures === 0) refundsOfUncaptured++;
    if ((doc.status === 'captured') !== (captures === 1) || (doc.refund?.status === 'captured') !== (refunds === 1)) {
      projectionMismatch++;
      violations.push(`${e.tid}: projection ${doc.status}/${doc.refund?.status ?? '-'} but ledger ${captures} capture(s), ${refunds} refund(s)`);
    }
    try {
      const state = await temporal.workflow.getHandle(doc.workflowId).query(stateQuery);
      if (state.status !== doc.status) {
        projectionMismatch++;
        violations.push(`${e.tid}: projection ${doc.status} but workflow ${state.status}`);
      }
    } catch (err) {
      violations.push(`${e.tid}: workflow state unreadable: ${err instanceof Error ? err.message : String(err)}`);
    }
    if ((accepted.get(e.tid) ?? 0) > 1) multiAccepted++;
    if ((refundsAccepted.get(e.tid) ?? 0) > 1) doubleRefunds++;
    for (const event of expectedEvents(e)) {
      if (!got.has(`${e.tid}:${event}`)) {
        eventsMissing++;
        violations.push(`${e.tid}: ${event} never delivered`);
      } else if (deliveriesPerEvent.get(`${e.tid}:${event}`)!.size !== 1) {
        eventIdsNotUnique++;
        violations.push(`${e.tid}: ${event} delivered under ${deliveriesPerEvent.get(`${e.tid}:${event}`)!.size} delivery ids`);
      }
    }
  }
  const vaultDeadline = Date.now() + 30_000;
  for (;;) {
    vaultLeft = await db.collection('vault').countDocuments({ paymentKey: { $in: expectations.map((e) => keyOf(e.tid)) } });
    if (vaultLeft === 0 || Date.now() > vaultDeadline) break;
    await sleep(1000);
  }
  if (vaultLeft > 0) violations.push(`${vaultLeft} vault entries left for ended payments`);
  if (doubleCaptures) violations.push(`${doubleCaptures} double captures`);
  if (doubleRefunds) violations.push(`${doubleRefunds} double refunds`);
  if (refundsOfUncaptured) violations.push(`${refundsOfUncaptured} refunds of uncaptured payments`);
  if (multiAccepted) violations.push(`${multiAccepted} Tids with more than one accepted payment request`);
  for (const dropped of droppedOutside) violations.push(`dropped connection outside a kill window: ${dropped}`);

  const scan = await scanForCardData(temporal, db, path.join(config.dataDir, 'logs'), webhooks.received.map((r) => ({ where: 'a webhook body', text: r.rawBody })));
  violations.push(...scan.findings);
  if (!scan.sawMaskedPan) violations.push('card scan could not decode histories (no masked PAN seen)');

  const kinds = new Map<Kind, number>();
  for (const e of expectations) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  const report: ChaosReport = {
    seed: options.seed,
    durationMs: Date.now() - started,
    figures: [
      ['payments (scenarios)', expectations.length],
      ['mix', [...kinds].map(([k, n]) => `${k} ${n}`).join(', ')],
      ['faults injected', faultsFired.join(', ')],
      ['HTTP requests (incl. retries)', requests],
      ['merchant retries (9, timeouts, dropped connections)', retries],
      ['code 9 answers', code9],
      ['3DS answers that could not get in before the timeout (→ cancelled, expected)', challengesMissed],
      ['reached a final state', expectations.length - notFinal],
      ['outcome ≠ test card behaviour', wrongOutcome],
      ['projection ≠ workflow ≠ ledger', projectionMismatch],
      ['double captures', doubleCaptures],
      ['double refunds', doubleRefunds],
      ['refunds of uncaptured payments', refundsOfUncaptured],
      ['Tids with >1 accepted payment request', multiAccepted],
      ['final events not delivered', eventsMissing],
      ['events with >1 delivery id', eventIdsNotUnique],
      ['webhook deliveries received (incl. retries, 1/6 answered 500)', webhooks.received.length],
      ['vault entries left for ended payments', vaultLeft],
      ['histories scanned for card data', scan.histories],
      ['card data findings (histories, projections, logs, webhooks)', scan.findings.length],
      ['non-envelope answers or dropped connections outside kill windows', droppedOutside.length + violations.filter((v) => v.includes('answered HTTP')).length],
      ['violations', violations.length],
    ],
    violations,
  };

  await connection.close();
  await webhooks.stop();
  await mongo.close();
  await second?.api.stop();
  await second?.worker.stop();
  await stack.stop();
  return report;
}
