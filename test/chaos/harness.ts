import { rmSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { MongoClient } from 'mongodb';
import { simulatorLedger } from '../../activities/psp/simulator';
import { simulatorCalls } from '../../activities/psp/simulator-calls';
import { createMerchant } from '../../src/auth/accounts';
import { connectProcessor } from '../../src/auth/processor-credentials';
import { loadConfig, TEMPORAL_CONNECTION_VARIABLES } from '../../src/config';
import type { PaymentDoc } from '../../src/store/payment-records';
import { stateQuery } from '../../workflows/messages';
import {
  FINAL_STATUSES,
  type Mode,
  paymentKey,
  type PaymentStatus,
  paymentWorkflowId,
} from '../../workflows/vocabulary';
import { type ManagedProcess, splitHostPort } from '../../tools/process';
import { startStripeMock } from '../../tools/servers';
import { type Stack, startApiProcess, startStack, startWorkerProcess } from '../../tools/stack';
import { type ClusterServiceName, NUM_HISTORY_SHARDS, shardOwners } from '../../tools/temporal-cluster';
import { scanForCardData } from '../support/card-scan';
import { paymentBody } from '../support/factories';
import { type MoneyMoved, moneyByPayment, moneyDisagreements } from '../support/money';
import { freePort } from '../../tools/ports';
import { WebhookReceiver } from '../../tools/webhook-receiver';
import { RecordingProxy } from '../support/recording-proxy';
import { STRIPE_MOCK_PLAYS } from '../support/stripe-mock';
import {
  allowedMisses,
  type ChallengeMiss,
  challengeMissProblems,
  describeMiss,
  type FaultRecord,
  faultsOnIdle,
  inFlightTotal,
  lostStripeAnswers,
  processorTrafficToScan,
  type ReceivedEvent,
  type ShardMove,
  shardMoveProblems,
  stripeLedger,
  wrongEvents,
} from './checks';
import {
  CHALLENGE_KINDS,
  type ChaosPlan,
  DECLINE_MESSAGES,
  type Fault,
  describeShares,
  faultName,
  generator,
  type Kind,
  type PlannedScenario,
  type Processor,
} from './plan';
import { temporalConnectionOptions } from '../../src/temporal/connection-options';

/**
 * The durability proof: a mixed load through the real API while processes die under it, then invariants checked
 * against everything the system recorded. The merchant side behaves as a real integration does: it retries 9s,
 * timeouts and dropped connections with the same Tid, and on 104 after such a retry it asks the status endpoint.
 * What runs is decided by the plan (plan.ts, from the seed alone); what the checks look at is in checks.ts and
 * test/support/money.ts.
 *
 * A share of the load goes to a second merchant connected to Stripe, in live mode and in Stripe's test mode
 * (plan.ts, STRIPE_KINDS): stripe-mock plays an approving Stripe, behind a recording proxy whose log of every call
 * is that share's processor ledger (checks.ts, stripeLedger). Both run in this process, outside the stack, so the
 * faults that kill the worker or the API mid-call leave them up, as Stripe would be.
 */
export interface ChaosOptions {
  plan: ChaosPlan;
  concurrency: number;
  log: (line: string) => void;
}

interface Expectation {
  kind: Kind;
  processor: Processor;
  tid: string;
  card: string;
  amount: number;
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const errorText = (err: unknown) =>
  err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err);
const FINAL = new Set<string>(FINAL_STATUSES);

interface Envelope {
  Code: number;
  Result?: Record<string, string>;
  Error?: string;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const dataDir = path.resolve(__dirname, '..', '..', '.data', 'chaos', `run-${process.pid}`);
  rmSync(dataDir, { recursive: true, force: true });
  // ── Stripe: stripe-mock playing an approving processor, the recording proxy in front of it ──────────────────
  // Its own log goes beside the stack's, not among them: stripe-mock is the processor, whose log may hold what the
  // connector sent it (the card, in the PaymentMethod request), and the card-data scan reads the stack's logs.
  const stripeMock = await startStripeMock({
    dir: path.join(dataDir, 'processor'),
    fixtures: STRIPE_MOCK_PLAYS.approving,
    log: options.log,
  });
  const proxy = new RecordingProxy(new URL(stripeMock.url));
  try {
    const api = await proxy.start();
    return await runOnStack(options, dataDir, proxy, `${api.protocol}://${api.host}:${api.port}`);
  } finally {
    await proxy.stop();
    await stripeMock.stop();
  }
}

async function runOnStack(
  options: ChaosOptions,
  dataDir: string,
  proxy: RecordingProxy,
  stripeApiUrl: string,
): Promise<ChaosReport> {
  const started = Date.now();
  const { plan } = options;
  const sinceStart = () => Date.now() - started;
  // Timing-dependent choices draw from their own generator, never from the plan's: the plan stays reproducible.
  const timing = generator(plan.seed, 'timing');
  const violations: string[] = [];
  const log = options.log;

  // ── The system under test: its own stack, its own ports and data, short lifecycle durations ────────────────
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    FERRETDB_PORT: String(await freePort()),
    DATA_DIR: dataDir,
    MONGODB_DB: 'settleflow_chaos',
    // Long enough that a customer answering during a restart still makes it; abandoned ones end after it.
    THREEDS_TIMEOUT: '30s',
    WEBHOOK_INITIAL_BACKOFF: '200',
    WEBHOOK_MAX_RETRY_SANDBOX: '30m',
    API_WAIT_BUDGET: '8s',
    SWEEP_INTERVAL: '10s',
    KEY_CACHE_TTL: '60s',
    // Every worker and API process of the run, restarted ones and the second pair included, gets these through
    // the config (configToEnv). stripe-mock takes test keys only, so the live account holds one.
    STRIPE_API_URL: stripeApiUrl,
    STRIPE_ALLOW_TEST_KEYS_FOR_LIVE: 'true',
  };
  const baseEnv = { ...process.env };
  for (const name of TEMPORAL_CONNECTION_VARIABLES) delete baseEnv[name];
  delete baseEnv.MONGODB_URL;
  const config = loadConfig({ ...baseEnv, ...env });
  // The cluster profile runs as `npm run start:cluster` does: two workers and two APIs on the Temporal cluster.
  const replicas = plan.profile === 'cluster' ? 2 : 1;
  const stack: Stack = await startStack(config, { log, profile: plan.profile, replicas });
  // The pair dual-start adds gets the stack's own settings (Temporal's TLS among them), on a port of its own.
  const secondConfig = { ...stack.config, port: await freePort() };
  let second: { api: ManagedProcess; worker: ManagedProcess } | undefined;

  const mongo = new MongoClient(config.mongo.url, { retryWrites: false, serverSelectionTimeoutMS: 60_000 });
  const db = mongo.db(config.mongo.dbName);
  const merchant = await createMerchant(db, config, { name: 'Chaos shop' });
  // The Stripe-connected merchant: its live and its test payments both go to Stripe (stripe-mock via the proxy).
  const stripeMerchant = await createMerchant(db, config, { name: 'Chaos shop on Stripe', live: true });
  for (const mode of ['live', 'test'] as const)
    await connectProcessor(db, config.vaultKeys, {
      merchantId: stripeMerchant.merchantId,
      mode,
      connector: 'stripe',
      secretKey: 'sk_test_settleflowstripemock',
      webhookSecret: 'whsec_settleflowchaosstripe',
      webhookSecretGraceMs: 0,
      allowTestKeyForLive: mode === 'live',
    });
  /** Who pays for a scenario: its merchant, the API key and mode, and whether its webhooks can reach the receiver. */
  const shops: Record<Processor, { merchantId: string; key: string; mode: Mode; webhooks: boolean }> = {
    simulator: { merchantId: merchant.merchantId, key: merchant.testKey, mode: 'test', webhooks: true },
    'stripe-test': { merchantId: stripeMerchant.merchantId, key: stripeMerchant.testKey, mode: 'test', webhooks: true },
    // Live webhooks go to https on a public address only (docs/webhooks.md): none to the loopback receiver.
    'stripe-live': {
      merchantId: stripeMerchant.merchantId,
      key: stripeMerchant.liveKey!,
      mode: 'live',
      webhooks: false,
    },
  };
  const tidProcessor = new Map(plan.scenarios.map((s) => [s.tid, s.processor]));
  const shopOf = (tid: string) => shops[tidProcessor.get(tid) ?? 'simulator'];
  const webhooks = new WebhookReceiver();
  // A merchant endpoint that is flaky on its own: one answer in six is a 500.
  webhooks.respond = () => (timing() < 1 / 6 ? 500 : 200);
  const callbackUrl = await webhooks.start();

  // ── The merchant side ───────────────────────────────────────────────────────────────────────────────────
  const apis = () => [...stack.apiUrls, ...(second ? [`http://${secondConfig.host}:${secondConfig.port}`] : [])];
  let turn = 0;
  const windows: { from: number; to: number; what: string }[] = [];
  const droppedOutside: string[] = [];
  const accepted = new Map<string, number>();
  const refundsAccepted = new Map<string, number>();
  let requests = 0;
  let retries = 0;
  let code9 = 0;
  const misses: ChallengeMiss[] = [];
  /** Requests in flight right now, by endpoint: what a fault hits. */
  const inFlight: Record<string, number> = {};
  async function tracked<T>(what: string, request: () => Promise<T>): Promise<T> {
    inFlight[what] = (inFlight[what] ?? 0) + 1;
    try {
      return await request();
    } finally {
      inFlight[what] = (inFlight[what] ?? 1) - 1;
    }
  }

  const inWindow = (at: number) => windows.some((w) => at >= w.from - 500 && at <= w.to + 2000);

  async function call(endpoint: 'payment' | 'refund' | 'status', body: Record<string, string>): Promise<Envelope> {
    for (let attempt = 0; ; attempt++) {
      const list = apis();
      const base = list[turn++ % list.length]!;
      const sentAt = Date.now();
      requests++;
      try {
        // A Stripe scenario's requests are counted apart: the log then shows when a fault hit the Stripe share.
        const what = shopOf(body.Tid!) === shops.simulator ? endpoint : `${endpoint} (Stripe)`;
        const { status, text } = await tracked(what, async () => {
          const res = await fetch(`${base}/v1/${endpoint}/direct`, {
            method: 'POST',
            headers: { 'epro-api-key': shopOf(body.Tid!).key, 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(30_000),
          });
          return { status: res.status, text: await res.text() };
        });
        let envelope: Envelope;
        try {
          envelope = JSON.parse(text) as Envelope;
        } catch {
          violations.push(`${endpoint} answered HTTP ${status} with a body that is not JSON`);
          envelope = { Code: 9 };
        }
        if (status !== 200 || typeof envelope.Code !== 'number')
          violations.push(`${endpoint} answered HTTP ${status}, Code ${String(envelope.Code)}`);
        if (envelope.Code !== 9) return envelope;
        code9++;
      } catch (err) {
        // A dropped connection is allowed only while an API process is being killed or stopped.
        if (!inWindow(sentAt) && !inWindow(Date.now()))
          droppedOutside.push(`${endpoint} to ${base}: ${errorText(err)}`);
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
      // 102: the start never landed (the merchant pays again with the same Tid), or its workflow has not written
      // its record yet (a worker down): then the next try answers 104 and status finds it.
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
   * While the API or the worker restarts, a customer may not get an answer in before the 3DS timeout: then
   * `cancelled` is the right outcome, but the harness says why (what the page and the network answered meanwhile)
   * and the checks bound how often it may happen (checks.ts, challengeMissProblems).
   */
  async function challenge(
    answer: Envelope,
    result: 'approved' | 'failed',
  ): Promise<{ answered: true } | { answered: false; expired: boolean; why: string }> {
    // An answer that came from status (the payment answer was lost, the retry got 104) may predate the challenge:
    // a merchant polls status until it carries the 3DSecureUrl, as docs/3d-secure.md says, within the 3DS timeout.
    let current = answer;
    const pollUntil = Date.now() + 25_000;
    while (
      !current.Result?.['3DSecureUrl'] &&
      current.Result?.Status === 'pending' &&
      typeof current.Result?.Tid === 'string' &&
      Date.now() < pollUntil
    ) {
      await sleep(500);
      current = await status(current.Result.Tid);
    }
    const link = current.Result?.['3DSecureUrl'];
    if (!link)
      return {
        answered: false,
        expired: false,
        why: `the payment answer and status (Status ${current.Result?.Status}) carried no 3DSecureUrl`,
      };
    // Each API process names itself in the link; in production one public URL fronts them all. The customer's
    // browser reaches the page through whichever API is up, as it would through that URL (the second API that
    // minted the link may be gone by now).
    const page = () => `${apis()[turn++ % apis().length]!}${new URL(link).pathname}`;
    const trouble = new Map<string, number>();
    const note = (what: string) => trouble.set(what, (trouble.get(what) ?? 0) + 1);
    const meanwhile = () =>
      trouble.size ? `; meanwhile ${[...trouble].map(([what, n]) => `${what} ×${n}`).join(', ')}` : '';
    let offered = false;
    for (let attempt = 0; attempt < 90; attempt++) {
      try {
        const shown = await tracked('3ds', () =>
          fetch(page(), { signal: AbortSignal.timeout(15_000) }).then(async (r) => ({
            status: r.status,
            html: await r.text(),
          })),
        );
        const token = /name="token" value="([0-9a-f]{64})"/.exec(shown.html)?.[1];
        // Before the customer has answered, "in progress" means the challenge is not ready yet: a customer waits.
        const notReady =
          shown.html.includes('Preparing authentication') || (!offered && shown.html.includes('Payment in progress'));
        if (shown.status === 200 && !token && !notReady) {
          if (!shown.html.includes('Authentication expired')) return { answered: true };
          return {
            answered: false,
            expired: true,
            why: `the page said "Authentication expired" on try ${attempt + 1}, ${offered ? 'after offering the form' : 'never having offered the form'}${meanwhile()}`,
          };
        }
        if (!token) note(notReady ? 'page: payment in progress, challenge not ready' : `page HTTP ${shown.status}`);
        if (token) {
          offered = true;
          const post = await tracked('3ds', () =>
            fetch(page(), {
              method: 'POST',
              body: new URLSearchParams({ token, result }),
              signal: AbortSignal.timeout(15_000),
            }).then(async (r) => ({ status: r.status, html: await r.text() })),
          );
          if (post.status === 200 && !post.html.includes('name="token"')) {
            if (!post.html.includes('Authentication expired')) return { answered: true };
            return {
              answered: false,
              expired: true,
              why: `the answer was posted on try ${attempt + 1} and the page said "Authentication expired"${meanwhile()}`,
            };
          }
          note(`answer HTTP ${post.status}`);
        }
      } catch (err) {
        // the API is being restarted: the customer's browser tries again
        note(errorText(err));
      }
      await sleep(1000);
    }
    return { answered: false, expired: false, why: `the page never took an answer in 90 tries${meanwhile()}` };
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
    for (const a of answers)
      if (a.Code !== 0 && a.Code !== 103) violations.push(`refund of ${tid} answered ${a.Code} ${a.Error}`);
  }

  async function scenario({ kind, processor, tid, card, amount }: PlannedScenario): Promise<Expectation> {
    const common = {
      Tid: tid,
      Amount: String(amount),
      // A live payment takes no loopback CallbackUrl, and its scenarios never send the customer anywhere.
      ...(shops[processor].webhooks ? { CallbackUrl: callbackUrl, ReturnUrl: 'https://shop.example/return' } : {}),
    };
    const body = paymentBody({ ...common, CardNumber: card, ...(kind === 'maestro' ? { '3DS': 'yes' } : {}) });
    const expect: Expectation = { kind, processor, tid, card, amount, status: 'captured', refunded: false };

    if (kind === 'duplicate') {
      await Promise.all([pay(body), pay(body), pay(body)]);
      return expect;
    }
    const answer = await pay(body);
    if (answer.Code !== 0) {
      violations.push(`${kind} ${tid}: payment answered ${answer.Code} ${answer.Error}`);
      return expect;
    }
    const from = sinceStart();
    const missed = (why: string, expired: boolean): Expectation => {
      misses.push({ tid, kind, why, expired, from, to: sinceStart() });
      return { ...expect, status: 'cancelled' };
    };
    switch (kind) {
      case 'decline':
        return { ...expect, status: 'failed', message: DECLINE_MESSAGES[card] };
      case '3ds-approve':
      case 'maestro': {
        const got = await challenge(answer, 'approved');
        return got.answered ? expect : missed(got.why, got.expired);
      }
      case '3ds-fail': {
        const got = await challenge(answer, 'failed');
        return got.answered ? { ...expect, status: 'rejected_pw' } : missed(got.why, got.expired);
      }
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
  let startedScenarios = 0;
  let finishedScenarios = 0;
  let loadDone = false;
  const faultRecords: FaultRecord[] = [];
  const faultBegun = plan.faults.map(() => false);
  let faultChain: Promise<void> = Promise.resolve();
  /** How many calls the proxy had seen when each cut was injected (checks.ts, lostStripeAnswers). */
  const answersCutAt: number[] = [];
  const cutting: Promise<void>[] = [];
  /** What the shard records said during each history host's outage (kill-history). */
  const shardMoves: ShardMove[] = [];

  /**
   * Fires one planned fault. It waits (briefly) for requests to be in flight, so that it hits load rather than a
   * pause between requests, and records what was in flight at the instant it hit: a fault on an idle system is a
   * violation (checks.ts, faultsOnIdle), not a silent success.
   */
  async function inject(index: number): Promise<void> {
    const { fault, at, downMs, target } = plan.faults[index]!;
    faultBegun[index] = true;
    // Lanes held back for this fault resume now: give them a moment to put load back before hitting (requests
    // from half the lanes, or from every scenario still running near the end, or any request at all after 10 s;
    // after 30 s it hits whatever is there and the check judges).
    const waitFrom = Date.now();
    const busy = () => {
      const total = Object.values(inFlight).reduce((sum, n) => sum + n, 0);
      const wanted = Math.min(Math.ceil(options.concurrency / 2), startedScenarios - finishedScenarios);
      return total > 0 && (total >= wanted || Date.now() - waitFrom > 10_000);
    };
    while (!busy() && !loadDone && Date.now() - waitFrom < 30_000) await sleep(20);
    const record: FaultRecord = {
      fault,
      ...(target ? { target } : {}),
      at,
      hitAt: sinceStart(),
      endedAt: 0,
      inFlight: Object.fromEntries(Object.entries(inFlight).filter(([, n]) => n > 0)),
      stripeCallsInFlight: proxy.calls.filter((c) => c.status === undefined).length,
    };
    log(
      `[chaos] ${faultName(record)} (planned at scenario ${at}) hits at ${startedScenarios}/${plan.scenarios.length} started, ${inFlightTotal(record)} request(s) in flight ${JSON.stringify(record.inFlight)}, ${record.stripeCallsInFlight} call(s) to Stripe`,
    );
    await hit(fault, downMs, target);
    record.endedAt = sinceStart();
    faultRecords.push(record);
    log(
      `[chaos] ${faultName(record)} over: whole again ${((record.endedAt - record.hitAt) / 1000).toFixed(1)} s after it hit`,
    );
  }

  /**
   * Cuts Stripe's answers to the next call and to the one after: the Stripe library sends a request whose
   * connection closed once more by itself, under the same key, even with its retries off, so one cut alone never
   * reaches the connector. With both cut, the activity fails and Temporal's retry sends the call again, under the
   * key derived from the workflow (checks.ts, lostStripeAnswers). Aimed, when it can be, at a capture: it waits
   * (up to 20 s, or the end of the load) until the last call was an answered PaymentIntent creation, whose capture
   * usually comes next; the figures say which calls it really cut.
   */
  async function loseStripeAnswers(from: number): Promise<void> {
    const authorized = () => {
      const last = proxy.calls.at(-1);
      return last?.method === 'POST' && last.path === '/v1/payment_intents' && last.status !== undefined;
    };
    while (!authorized() && !loadDone && Date.now() - from < 20_000) await sleep(5);
    answersCutAt.push(proxy.calls.length, proxy.calls.length);
    proxy.inject({ kind: 'drop' }, { kind: 'drop' });
  }

  /** The cluster a cluster fault hits; planRun keeps them out of dev plans, this says so if one got in anyway. */
  function clusterOf(fault: Fault) {
    if (!stack.cluster) throw new Error(`${fault} needs the cluster profile (SETTLEFLOW_STACK=cluster)`);
    return stack.cluster;
  }

  /**
   * SIGKILL of one history host, then the shard records watched (tools/temporal-cluster.ts, shardOwners) until the
   * hosts left own every shard, for at most a minute: the move is checked (checks.ts, shardMoveProblems) and timed.
   * The host stays down `downMs` longer, is started again on its config, and the records are watched once more
   * until it owns shards again (logged only: a host that takes none back is still a working cluster).
   */
  async function killHistoryHost(name: ClusterServiceName, downMs: number): Promise<void> {
    const cluster = clusterOf('kill-history');
    const proc = cluster.processes.get(name);
    const killedAddress = cluster.addresses.get(name);
    if (!proc || !killedAddress) throw new Error(`kill-history: the cluster has no ${name}`);
    const liveAddresses = [...cluster.addresses]
      .filter(([other]) => other.startsWith('history-') && other !== name)
      .map(([, address]) => address);
    const { host } = splitHostPort(killedAddress);
    const read = async (previous: Map<string, number>) => shardOwners(cluster.postgres, host).catch(() => previous);
    const owned = (owners: Map<string, number>, addresses: string[]) =>
      addresses.reduce((sum, address) => sum + (owners.get(address) ?? 0), 0);
    const show = (owners: Map<string, number>) => [...owners].map(([owner, n]) => `${owner} ${n}`).join(', ');

    const killedAt = Date.now();
    proc.child.kill('SIGKILL');
    await proc.exited;
    let owners = new Map<string, number>();
    for (;;) {
      owners = await read(owners);
      if (owned(owners, liveAddresses) === NUM_HISTORY_SHARDS || Date.now() - killedAt > 60_000) break;
      await sleep(250);
    }
    const afterMs = Date.now() - killedAt;
    shardMoves.push({ killed: name, killedAddress, liveAddresses, owners: Object.fromEntries(owners), afterMs });
    log(
      `[chaos] ${name} (${killedAddress}) killed; ${(afterMs / 1000).toFixed(1)} s later the shards: ${show(owners)}`,
    );
    await sleep(downMs);
    // Its process is gone: restartService's stop finds nothing to stop and starts it again.
    await cluster.restartService(name);
    const restartedAt = Date.now();
    for (;;) {
      owners = await read(owners);
      if (owned(owners, [killedAddress]) > 0 || Date.now() - restartedAt > 30_000) break;
      await sleep(500);
    }
    log(
      `[chaos] ${name} started again; ${((Date.now() - restartedAt) / 1000).toFixed(1)} s later the shards: ${show(owners)}`,
    );
  }

  async function hit(fault: Fault, downMs: number, target: string | undefined): Promise<void> {
    const from = Date.now();
    switch (fault) {
      case 'kill-worker': {
        stack.worker!.child.kill('SIGKILL');
        await stack.worker!.exited;
        await sleep(downMs);
        await stack.startWorker();
        break;
      }
      case 'kill-api': {
        // The window opens before the kill: requests in flight at that moment are allowed to drop.
        const window = { from, to: Number.POSITIVE_INFINITY, what: fault };
        windows.push(window);
        stack.api!.child.kill('SIGKILL');
        await stack.api!.exited;
        await sleep(downMs);
        await stack.startApi();
        window.to = Date.now();
        break;
      }
      case 'restart-temporal':
        if (stack.cluster) throw new Error('restart-temporal is the dev server: on the cluster, restart-frontend');
        await stack.restartServer('temporal', downMs);
        break;
      case 'restart-frontend':
        clusterOf(fault);
        // On the cluster profile the stack's Temporal server is the frontend (tools/stack.ts, restartServer).
        await stack.restartServer('temporal', downMs);
        break;
      case 'kill-matching':
        await clusterOf(fault).restartService('matching', { kill: true, downForMs: downMs });
        break;
      case 'restart-postgres':
        await clusterOf(fault).postgres.restart(downMs);
        break;
      case 'kill-history':
        await killHistoryHost(target as ClusterServiceName, downMs);
        break;
      case 'restart-ferretdb':
        await stack.restartServer('ferretdb', downMs);
        break;
      case 'dual-start':
        second = {
          api: await startApiProcess(secondConfig, {}, `api-${replicas + 1}`),
          worker: await startWorkerProcess(secondConfig, {}, `worker-${replicas + 1}`),
        };
        break;
      case 'lose-stripe-answer':
        // Aimed in the background, so that the faults after it (and the lanes waiting for them) are not held up.
        cutting.push(loseStripeAnswers(from));
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
  }

  // ── The run ──────────────────────────────────────────────────────────────────────────────────────────────
  // A fault fires when its planned scenario starts. The load may run ahead of a slow fault (a restart takes
  // seconds) by at most one scenario per lane: further starts wait for the fault to begin, so every fault still
  // finds the load running instead of firing after it has ended.
  const expectations: Expectation[] = [];
  let nextFault = 0;
  async function lane(): Promise<void> {
    while (startedScenarios < plan.scenarios.length) {
      const planned = plan.scenarios[startedScenarios++]!;
      while (plan.faults.some((f, k) => f.at <= planned.index - options.concurrency && !faultBegun[k]))
        await sleep(100);
      while (nextFault < plan.faults.length && plan.faults[nextFault]!.at <= planned.index) {
        const k = nextFault++;
        faultChain = faultChain.then(() => inject(k));
      }
      expectations.push(await scenario(planned));
      finishedScenarios++;
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  loadDone = true;
  // Faults planned past the last scenario fire now, on an idle system: the idle check reports them.
  while (nextFault < plan.faults.length) {
    const k = nextFault++;
    faultChain = faultChain.then(() => inject(k));
  }
  await faultChain;
  await Promise.all(cutting);
  if (second) {
    // Clean-up, not a fault: the plan started a second API and worker and never stopped them.
    await Promise.all([second.api.stop(), second.worker.stop()]);
    second = undefined;
  }
  log(`[chaos] load done in ${Math.round(sinceStart() / 1000)}s; settling`);

  // ── Settle: every payment final, every final event delivered ─────────────────────────────────────────────
  const payments = db.collection<PaymentDoc>('payments');
  const keyOf = (tid: string) => paymentKey(shopOf(tid).mode, shopOf(tid).merchantId, tid);
  const settleDeadline = Date.now() + 180_000;
  let docs: PaymentDoc[];
  for (;;) {
    docs = await payments.find({ merchantId: { $in: [merchant.merchantId, stripeMerchant.merchantId] } }).toArray();
    const byTid = new Map(docs.map((d) => [d.tid, d]));
    // An expected payment with no record yet is open too: a missing record must fail the run, not end the wait.
    const open = expectations.filter((e) => {
      const d = byTid.get(e.tid);
      return !d || !FINAL.has(d.status) || (e.refunded && d.refund?.status !== 'captured');
    });
    if (open.length === 0 || Date.now() > settleDeadline) break;
    await sleep(1000);
  }
  const expectedEvents = (e: Expectation) =>
    !shops[e.processor].webhooks
      ? []
      : [
          {
            captured: 'PAYMENT_CAPTURED',
            failed: 'PAYMENT_FAILED',
            cancelled: 'PAYMENT_CANCELLED',
            rejected_pw: 'PAYMENT_REJECTED',
          }[e.status as 'captured'],
          ...(e.refunded ? ['REFUND_SUCCEEDED'] : []),
        ];
  // Delivered means acknowledged with a 2xx: the flaky endpoint's 500s do not count.
  const received = () =>
    new Set(
      webhooks.received
        .filter((r) => r.answered !== undefined && r.answered < 300)
        .map(
          (r) =>
            `${(JSON.parse(r.rawBody) as { Result: { Tid: string } }).Result.Tid}:${String(r.headers['x-settleflow-event'])}`,
        ),
    );
  while (Date.now() < settleDeadline) {
    const got = received();
    if (expectations.every((e) => expectedEvents(e).every((event) => got.has(`${e.tid}:${event}`)))) break;
    await sleep(1000);
  }

  // ── Invariants ───────────────────────────────────────────────────────────────────────────────────────────
  const connection = await Connection.connect(temporalConnectionOptions(stack.config));
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  const byDoc = new Map(docs.map((d) => [d.tid, d]));
  let notFinal = 0;
  let wrongOutcome = 0;
  let doubleCaptures = 0;
  let doubleRefunds = 0;
  let refundsOfUncaptured = 0;
  let moneyMismatch = 0;
  let projectionMismatch = 0;
  let multiAccepted = 0;
  let vaultLeft: number;
  let eventsMissing = 0;
  let eventIdsNotUnique = 0;

  // Money moved per payment, linked through its authorization whatever idempotency key each movement used: a
  // capture or refund issued twice under different keys shows as two movements (test/support/money.ts).
  const ledger = moneyByPayment(await simulatorLedger(db).find({}).toArray());
  const nothingMoved: MoneyMoved = { authorizations: [], captures: [], refunds: [] };
  const calls = await simulatorCalls(db).find({}).toArray();
  const repeatedCalls = calls.length - new Set(calls.map((c) => `${c.operation}:${c.idempotencyKey}`)).size;

  // The Stripe share's money: every call the proxy saw, against the payments' records (checks.ts, stripeLedger).
  // A payment with no record yet is still named (by its workflow id), so that calls made for it are not strays.
  const stripeCalls = [...proxy.calls];
  const stripe = stripeLedger(
    stripeCalls,
    expectations
      .filter((e) => e.processor !== 'simulator')
      .map((e) => {
        const doc = byDoc.get(e.tid);
        const { mode, merchantId } = shops[e.processor];
        return {
          workflowId: doc?.workflowId ?? paymentWorkflowId(mode, merchantId, e.tid),
          tid: e.tid,
          status: doc?.status ?? 'no payment',
          amount: doc?.amount ?? e.amount,
          refunded: doc?.refund?.status === 'captured',
        };
      }),
  );
  violations.push(...stripe.problems);
  const cut = lostStripeAnswers(stripeCalls, answersCutAt);
  violations.push(...cut.problems);
  const repeatedStripeCalls =
    stripeCalls.filter((c) => c.method !== 'GET').length -
    new Set(stripeCalls.filter((c) => c.method !== 'GET').map((c) => `${c.path}:${c.idempotencyKey}`)).size;
  const cardRequests = stripeCalls.filter((c) => c.path === '/v1/payment_methods' && c.params['card[number]']).length;
  if (expectations.some((e) => e.processor !== 'simulator') && cardRequests === 0)
    violations.push('the proxy recorded no PaymentMethod request with a card: its traffic scan would prove nothing');

  const deliveriesPerEvent = new Map<string, Set<string>>();
  const events: ReceivedEvent[] = [];
  for (const r of webhooks.received) {
    const result = (JSON.parse(r.rawBody) as { Result: ReceivedEvent['result'] }).Result;
    const event = String(r.headers['x-settleflow-event']);
    const deliveryId = String(r.headers['x-settleflow-delivery']);
    events.push({ event, deliveryId, result });
    const key = `${result.Tid}:${event}`;
    deliveriesPerEvent.set(key, (deliveriesPerEvent.get(key) ?? new Set()).add(deliveryId));
  }
  const got = received();

  for (const e of expectations) {
    const doc = byDoc.get(e.tid);
    if (!doc || !FINAL.has(doc.status)) {
      notFinal++;
      violations.push(`${e.kind} ${e.tid}: not final (${doc?.status ?? 'no payment'})`);
      continue;
    }
    const shop = shops[e.processor];
    if (
      doc.status !== e.status ||
      (e.message && doc.message !== e.message) ||
      e.refunded !== (doc.refund?.status === 'captured') ||
      doc.amount !== e.amount ||
      doc.mode !== shop.mode ||
      doc.merchantId !== shop.merchantId
    ) {
      wrongOutcome++;
      violations.push(
        `${e.kind} ${e.tid} (${e.processor}): expected ${e.status}${e.refunded ? '+refund' : ''} of ${e.amount}, got ${doc.status} "${doc.message}"${doc.refund ? ` refund ${doc.refund.status}` : ''} of ${doc.amount} (${doc.mode}, ${doc.merchantId})`,
      );
    }
    const moved = ledger.byPayment.get(doc.workflowId) ?? nothingMoved;
    if (e.processor === 'simulator') {
      if (moved.captures.length > 1) doubleCaptures++;
      if (moved.refunds.length > 1) doubleRefunds++;
      if (moved.refunds.length > 0 && moved.captures.length === 0) refundsOfUncaptured++;
      const disagreements = moneyDisagreements(doc, moved);
      if (disagreements.length > 0) {
        moneyMismatch++;
        for (const problem of disagreements) violations.push(`${e.kind} ${e.tid}: ${problem}`);
      }
    } else if (moved.authorizations.length + moved.captures.length + moved.refunds.length > 0) {
      // Its money is Stripe's ledger, checked below: the simulator must not have seen it.
      moneyMismatch++;
      violations.push(`${e.kind} ${e.tid} (${e.processor}): the simulator authorized or moved money for it`);
    } else {
      const atStripe = stripe.byPayment.get(doc.workflowId);
      if (atStripe && atStripe.captures.length > 1) doubleCaptures++;
      if (atStripe && atStripe.refunds.length > 1) doubleRefunds++;
      if (atStripe && atStripe.refunds.length > 0 && atStripe.captures.length === 0) refundsOfUncaptured++;
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
        violations.push(
          `${e.tid}: ${event} delivered under ${deliveriesPerEvent.get(`${e.tid}:${event}`)!.size} delivery ids`,
        );
      }
    }
  }
  // Money that no scenario's payment accounts for: moved on an unknown authorization, or for a payment never made.
  const workflowIds = new Set(expectations.map((e) => byDoc.get(e.tid)?.workflowId));
  const strayMoney = [
    ...ledger.unlinked.map(
      (m) =>
        `${m.operation} of ${m.amount} under ${m.idempotencyKey} on an authorization no payment made (${m.pspReference ?? 'none'})`,
    ),
    ...[...ledger.byPayment]
      .filter(([key, m]) => !workflowIds.has(key) && m.captures.length + m.refunds.length > 0)
      .map(([key]) => `money moved for ${key}, which no scenario paid`),
  ];
  for (const stray of strayMoney) violations.push(stray);

  // Every event received, not only the expected ones, against the payment's final state and refund.
  const finals = new Map(docs.map((d) => [d.tid, { status: d.status, reference: d.reference, refund: d.refund }]));
  const wrong = wrongEvents(events, finals);
  violations.push(...wrong);

  // Each fault hit load; the challenges missed are few, explained, and each overlapped a fault.
  const idle = faultsOnIdle(faultRecords, plan.faults.length);
  violations.push(...idle);
  const historyKills = plan.faults.filter((f) => f.fault === 'kill-history').length;
  const shardProblems = shardMoveProblems(shardMoves, historyKills, NUM_HISTORY_SHARDS);
  violations.push(...shardProblems);
  const challenges = expectations.filter((e) => CHALLENGE_KINDS.has(e.kind)).length;
  const missProblems = challengeMissProblems(misses, challenges, faultRecords);
  violations.push(...missProblems);
  for (const miss of misses) log(`[chaos] challenge missed: ${describeMiss(miss, faultRecords)}`);

  // A copy left by a request that died is deleted by the worker's orphan sweep once the request is surely over
  // (the wait budget plus 30 s), at its next pass.
  const vaultDeadline = Date.now() + 90_000;
  for (;;) {
    vaultLeft = await db
      .collection('vault')
      .countDocuments({ paymentKey: { $in: expectations.map((e) => keyOf(e.tid)) } });
    if (vaultLeft === 0 || Date.now() > vaultDeadline) break;
    await sleep(1000);
  }
  if (vaultLeft > 0) violations.push(`${vaultLeft} vault entries left for ended payments`);
  if (doubleCaptures) violations.push(`${doubleCaptures} double captures`);
  if (doubleRefunds) violations.push(`${doubleRefunds} double refunds`);
  if (refundsOfUncaptured) violations.push(`${refundsOfUncaptured} refunds of uncaptured payments`);
  if (multiAccepted) violations.push(`${multiAccepted} Tids with more than one accepted payment request`);
  for (const dropped of droppedOutside) violations.push(`dropped connection outside a kill window: ${dropped}`);

  const scan = await scanForCardData(temporal, db, path.join(config.dataDir, 'logs'), [
    ...webhooks.received.map((r) => ({ where: 'a webhook body', text: r.rawBody })),
    // Everything that went to Stripe and came back, but the card where it must go (checks.ts).
    ...processorTrafficToScan(stripeCalls),
  ]);
  violations.push(...scan.findings);
  if (!scan.sawMaskedPan) violations.push('card scan could not decode histories (no masked PAN seen)');

  const kinds = new Map<Kind, number>();
  for (const e of expectations) kinds.set(e.kind, (kinds.get(e.kind) ?? 0) + 1);
  const report: ChaosReport = {
    seed: plan.seed,
    durationMs: Date.now() - started,
    figures: [
      ['payments (scenarios)', expectations.length],
      ['plan fingerprint (same seed → same scenarios, cards, amounts, processors, faults)', plan.fingerprint],
      ['mix', [...kinds].map(([k, n]) => `${k} ${n}`).join(', ')],
      ['processors (planned)', describeShares(plan)],
      [
        'faults injected (requests in flight when each hit)',
        faultRecords.map((f) => `${faultName(f)} (${inFlightTotal(f)})`).join(', '),
      ],
      ['faults that hit an idle system', faultRecords.filter((f) => inFlightTotal(f) === 0).length],
      ...(plan.profile === 'cluster'
        ? ([
            [
              `history hosts killed: shards owned by the hosts left (of ${NUM_HISTORY_SHARDS}), time from the kill`,
              shardMoves
                .map(
                  (m) =>
                    `${m.killed}: ${m.liveAddresses.reduce((sum, a) => sum + (m.owners[a] ?? 0), 0)} after ${(m.afterMs / 1000).toFixed(1)} s`,
                )
                .join(', ') || 'none',
            ],
            ['history host outages whose shards did not all move', shardProblems.length],
          ] as [string, string | number][])
        : []),
      ['HTTP requests (incl. retries)', requests],
      ['merchant retries (9, timeouts, dropped connections)', retries],
      ['code 9 answers', code9],
      [
        `3DS challenges missed (→ cancelled; at most ${allowedMisses(challenges)} of ${challenges}, each expired during a fault)`,
        misses.length,
      ],
      ['reached a final state', expectations.length - notFinal],
      ['outcome ≠ test card behaviour', wrongOutcome],
      ['projection ≠ workflow', projectionMismatch],
      ['money moved ≠ what the payment says (per authorization, any key)', moneyMismatch],
      ['money moved that no payment accounts for', strayMoney.length],
      ['double captures', doubleCaptures],
      ['double refunds', doubleRefunds],
      ['refunds of uncaptured payments', refundsOfUncaptured],
      ['processor calls (attempts log)', calls.length],
      ['repeated processor calls answered from the ledger', repeatedCalls],
      ['Stripe calls through the recording proxy (incl. retries)', stripeCalls.length],
      ['Stripe calls repeated under the same Idempotency-Key (retries)', repeatedStripeCalls],
      ['Stripe ledger ≠ what the payments say (keys per PaymentIntent, strays)', stripe.problems.length],
      [
        'Stripe answers cut by the proxy (calls; each must be sent again under its key)',
        `${cut.lost.length} of ${answersCutAt.length} injected${cut.lost.length ? `: ${cut.lost.map((c) => `${c.method} ${c.path.replace(/pi_\w+/, 'pi_…')}`).join(', ')}` : ''}; ${cut.problems.length} never resent`,
      ],
      [
        'faults that hit with calls to Stripe in flight',
        faultRecords.filter((f) => (f.stripeCallsInFlight ?? 0) > 0).length,
      ],
      [
        'faults that hit with Stripe payment requests in flight',
        faultRecords.filter((f) => Object.keys(f.inFlight).some((what) => what.endsWith('(Stripe)'))).length,
      ],
      ['Tids with >1 accepted payment request', multiAccepted],
      ['final events not delivered', eventsMissing],
      ['events with >1 delivery id', eventIdsNotUnique],
      ['events received that contradict the final state', wrong.length],
      ['webhook deliveries received (incl. retries, 1/6 answered 500)', webhooks.received.length],
      ['vault entries left for ended payments', vaultLeft],
      ['histories scanned for card data', scan.histories],
      ['card data findings (histories, projections, logs, webhooks, Stripe traffic)', scan.findings.length],
      [
        'non-envelope answers or dropped connections outside kill windows',
        droppedOutside.length + violations.filter((v) => v.includes('answered HTTP')).length,
      ],
      ['violations', violations.length],
    ],
    violations,
  };

  await connection.close();
  await webhooks.stop();
  await mongo.close();
  await stack.stop();
  return report;
}
