import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createMerchant } from '../src/auth/accounts';
import { loadConfig, TEMPORAL_CONNECTION_VARIABLES } from '../src/config';
import { connectMongo } from '../src/store/mongo';
import { cardNumbersIn, exportHistory } from '../src/temporal/histories';
import { type PaymentOutcome, paymentWorkflowId } from '../workflows/vocabulary';
import { projectRoot } from './binaries';
import { startStack } from './stack';
import { freePort } from './ports';
import { WebhookReceiver } from './webhook-receiver';
import { temporalConnectionOptions } from '../src/temporal/connection-options';

/**
 * `npm run histories:capture`: records one real workflow history per lifecycle branch into test/replay/histories/,
 * where the replay suite (npm test) replays them against the current workflow code. Each payment goes through the
 * real API, worker and Temporal dev server, started as the tests start them (own data dir, free ports), with short
 * durations so that every workflow runs to its end: a history that stops half way would not prove that the code
 * can still finish the payments it started.
 *
 * Existing files are kept: the old histories are the point, they stand for the payments in flight when a new
 * version of the workflow is deployed. So a plain run records only the branches that have no file yet (a branch
 * just added below); `-- --overwrite [branch…]` re-records on purpose (see docs/changing-the-workflow.md).
 */

const OUT_DIR = path.join(projectRoot, 'test', 'replay', 'histories');
const RETURN_URL = 'https://shop.example/return';

type ThreeDSAnswer = 'approved' | 'failed' | 'none';

interface Branch {
  /** File name, and the Tid suffix. */
  name: string;
  card: string;
  threeDS?: boolean;
  /** The cardholder's answer on the hosted page, when a challenge is expected. */
  answer?: ThreeDSAnswer;
  refund?: boolean;
  /** The merchant's endpoint answers 500 to this payment's first webhook, so the retry is in the history. */
  webhookFailsOnce?: boolean;
  expected: PaymentOutcome['status'];
}

const BRANCHES: Branch[] = [
  { name: 'approve', card: '4111111111111111', webhookFailsOnce: true, expected: 'captured' },
  { name: 'decline', card: '4000000000000002', expected: 'failed' },
  { name: 'transient-retries', card: '4000000000000119', expected: 'captured' },
  { name: '3ds-approve', card: '4111111111111111', threeDS: true, answer: 'approved', expected: 'captured' },
  { name: '3ds-fail', card: '4111111111111111', threeDS: true, answer: 'failed', expected: 'rejected_pw' },
  { name: '3ds-timeout', card: '4111111111111111', threeDS: true, answer: 'none', expected: 'cancelled' },
  { name: '3ds-required-by-card', card: '4000000000003220', answer: 'approved', expected: 'captured' },
  { name: '3ds-then-declined', card: '4000008400001629', answer: 'approved', expected: 'failed' },
  { name: 'refund', card: '4111111111111111', refund: true, expected: 'captured' },
  { name: 'capture-failed', card: '4000000000000267', expected: 'failed' },
];

async function post(
  apiUrl: string,
  endpoint: 'payment' | 'refund',
  key: string,
  body: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await fetch(`${apiUrl}/v1/${endpoint}/direct`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'epro-api-key': key },
    body: JSON.stringify(body),
  });
  const answer = (await res.json()) as { Code: number; Result?: Record<string, unknown>; Error?: string };
  if (answer.Code !== 0 || !answer.Result) throw new Error(`${endpoint} answered ${JSON.stringify(answer)}`);
  return answer.Result;
}

/** Answers the hosted challenge as the cardholder's browser would: the form token comes from the page. */
async function answerChallenge(url: string, result: 'approved' | 'failed'): Promise<void> {
  const page = await (await fetch(url)).text();
  const token = /name="token" value="([0-9a-f]{64})"/.exec(page)?.[1];
  if (!token) throw new Error(`no challenge form at ${url}`);
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams({ token, result }), redirect: 'manual' });
  if (res.status !== 200) throw new Error(`challenge answer got HTTP ${res.status}`);
}

/**
 * Identities and a worker's sticky task queue name the host and process that ran the worker and the API, and
 * failure stack traces (a retried activity's last failure) name the checkout's paths: machine details with no part
 * in replay. Everything else is kept as the server recorded it.
 */
const MACHINE_DETAILS: Record<string, string> = { identity: 'settleflow-capture', stackTrace: '' };
const STICKY_QUEUE = 'TASK_QUEUE_KIND_STICKY';

function anonymized(historyJson: string): string {
  const history = JSON.parse(historyJson) as unknown;
  const scrub = (key: string, value: unknown) => {
    if (typeof value === 'string' && key in MACHINE_DETAILS) return MACHINE_DETAILS[key];
    if (value && typeof value === 'object' && (value as { kind?: unknown }).kind === STICKY_QUEUE)
      return { ...value, name: 'settleflow-capture-sticky' };
    return value;
  };
  return `${JSON.stringify(history, scrub, 2)}\n`;
}

/** The branches to record now: those named (all by default) that have no file yet, or all of them with --overwrite. */
function selectBranches(args: string[]): Branch[] {
  const overwrite = args.includes('--overwrite');
  const names = args.filter((arg) => arg !== '--overwrite');
  const unknown = names.filter((name) => !BRANCHES.some((b) => b.name === name));
  if (unknown.length > 0)
    throw new Error(`unknown branch ${unknown.join(', ')}; known: ${BRANCHES.map((b) => b.name).join(', ')}`);
  const selected = names.length > 0 ? BRANCHES.filter((b) => names.includes(b.name)) : BRANCHES;
  return selected.filter((branch) => {
    const exists = existsSync(path.join(OUT_DIR, `${branch.name}.json`));
    if (exists && !overwrite) console.log(`${branch.name.padEnd(22)} kept (pass --overwrite to re-record)`);
    return overwrite || !exists;
  });
}

async function main(): Promise<void> {
  const branches = selectBranches(process.argv.slice(2));
  if (branches.length === 0) return;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'settleflow-capture-'));
  const [api, temporalPort, uiPort, ferretdbPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // Always a fresh embedded stack, whatever servers this shell points at: the histories must be reproducible.
  const env = { ...process.env };
  for (const name of [...TEMPORAL_CONNECTION_VARIABLES, 'MONGODB_URL', 'VAULT_KEY']) delete env[name];
  const config = loadConfig({
    ...env,
    NODE_ENV: 'test',
    PORT: String(api),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    FERRETDB_PORT: String(ferretdbPort),
    DATA_DIR: dataDir,
    MONGODB_DB: 'settleflow_capture',
    // Not quieter: the stack recognises a ready worker by its info-level log line.
    LOG_LEVEL: 'info',
    WEBHOOK_INITIAL_BACKOFF: '200',
    WEBHOOK_MAX_RETRY_SANDBOX: '1m',
  });

  const stack = await startStack(config, { log: (line) => console.error(line) }).catch((err: unknown) => {
    console.error(`capture-histories: logs kept in ${path.join(dataDir, 'logs')}`);
    throw err;
  });
  const mongo = await connectMongo(config, { appName: 'capture-histories' });
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  // The merchant's endpoint: 200, except the first delivery for the Tids told to fail once.
  const failOnceFor = new Set(branches.filter((b) => b.webhookFailsOnce).map((b) => `replay-${b.name}`));
  const endpoint = new WebhookReceiver();
  endpoint.respond = (request) => {
    const tid = (JSON.parse(request.rawBody) as { Result: { Tid: string } }).Result.Tid;
    return failOnceFor.has(tid) && endpoint.forTid(tid).length === 1 ? 500 : 200;
  };
  const callbackUrl = await endpoint.start();
  try {
    // Short 3DS timeout and refund window: the timeout branch ends in seconds, and captured payments close.
    const merchant = await createMerchant(mongo.db, config, {
      name: 'Replay capture shop',
      threeDSTimeoutMs: 3_000,
      refundWindowMs: 5_000,
    });
    mkdirSync(OUT_DIR, { recursive: true });

    // Settled, not raced: a failing branch must not tear the stack down under the others' pending calls.
    const results = await Promise.allSettled(
      branches.map(async (branch) => {
        const tid = `replay-${branch.name}`;
        const answer = await post(stack.apiUrl, 'payment', merchant.testKey, {
          Amount: '1234',
          Uid: 'customer-42',
          Tid: tid,
          Email: 'jane@example.com',
          CardNumber: branch.card,
          CardMonth: '12',
          CardYear: String(new Date().getUTCFullYear() + 3),
          CardCVV: '123',
          CallbackUrl: callbackUrl,
          ReturnUrl: RETURN_URL,
          ...(branch.threeDS ? { '3DS': 'yes' } : {}),
        });
        if (branch.answer && branch.answer !== 'none')
          await answerChallenge(answer['3DSecureUrl'] as string, branch.answer);
        if (branch.refund) await post(stack.apiUrl, 'refund', merchant.testKey, { Tid: tid });

        const workflowId = paymentWorkflowId('test', merchant.merchantId, tid);
        const outcome = (await client.workflow.getHandle(workflowId).result()) as PaymentOutcome;
        if (outcome.status !== branch.expected || (branch.refund && outcome.refund?.status !== 'captured')) {
          throw new Error(`${branch.name}: ended ${JSON.stringify(outcome)}, expected ${branch.expected}`);
        }
        const history = anonymized(await exportHistory(client, workflowId));
        const cards = cardNumbersIn(history);
        if (cards.length > 0)
          throw new Error(`${branch.name}: card numbers in the history (${cards.join(', ')}): not written`);
        const file = path.join(OUT_DIR, `${branch.name}.json`);
        writeFileSync(file, history);
        console.log(
          `${branch.name.padEnd(22)} ${outcome.status.padEnd(12)} ${path.relative(projectRoot, file)} (${Math.round(history.length / 1024)} KiB)`,
        );
      }),
    );
    const failures = results
      .filter((r) => r.status === 'rejected')
      .map((r) => String(r.reason instanceof Error ? r.reason.message : r.reason));
    if (failures.length > 0) throw new Error(failures.join('\n'));
  } finally {
    await endpoint.stop();
    await Promise.allSettled([mongo.client.close(), connection.close()]);
    await stack.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`capture-histories: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
