import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { makeWorkflowExporter } from '@temporalio/interceptors-opentelemetry';
import { Resource } from '@opentelemetry/resources';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { replayHistories, type ReplayVerdict, WORKFLOWS_PATH } from '../../src/temporal/histories';
import { TRACING_WORKFLOW_INTERCEPTOR_MODULES, WORKFLOW_INTERCEPTOR_MODULES } from '../../src/temporal/workflow-bundle';
import { cardDataIn, decodedHistory } from '../support/card-scan';
import { type PaymentOutcome, PAYMENT_WORKFLOW_TYPE } from '../../workflows/vocabulary';
import { type CommittedHistory, committedHistories, eventsOf, payloadValue } from './committed-histories';

/**
 * Every committed history (test/replay/histories/, recorded from real runs by `npm run histories:capture`) must
 * replay against today's workflow code: if one fails, a deploy of this code would wedge the payments in flight
 * on that branch. The histories are checked to be what their names claim, and to carry no card number.
 */
jest.setTimeout(120_000);
// The bundler and the replay worker report every step at INFO; only problems matter here.
beforeAll(() => Runtime.install({ logger: new DefaultLogger('WARN') }));

const histories = committedHistories();
/** The current recording of each branch; older ones (`<branch>.<label>.json`) are replayed too. */
const byBranch = new Map(histories.filter((h) => h.name === h.branch).map((h) => [h.branch, h]));

type Event = ReturnType<typeof eventsOf>[number];
/** The few event attributes these checks read, in proto-JSON. */
interface Attributes {
  activityType?: { name: string };
  acceptedRequest?: { input: { name: string } };
  scheduledEventId?: string;
  attempt?: number;
  result?: { payloads: { data: string }[] };
}
const attributes = (event: Event) =>
  Object.entries(event).find(([key]) => key.endsWith('EventAttributes'))![1] as Attributes;
const ofType = (history: CommittedHistory, type: string) =>
  eventsOf(history).filter((e) => e.eventType === `EVENT_TYPE_${type}`);
const activities = (history: CommittedHistory, name: string) =>
  ofType(history, 'ACTIVITY_TASK_SCHEDULED').filter((e) => attributes(e).activityType?.name === name);
const updates = (history: CommittedHistory) =>
  ofType(history, 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED').map((e) => attributes(e).acceptedRequest?.input.name);

/** What each branch must show in its history, beyond its final status: the branch really happened. */
const BRANCHES: Record<string, { status: PaymentOutcome['status']; shows: (h: CommittedHistory) => void }> = {
  approve: {
    status: 'captured',
    // The merchant's endpoint failed the first delivery: a second attempt after a backoff timer.
    shows: (h) => expect(activities(h, 'deliverWebhook').length).toBeGreaterThanOrEqual(2),
  },
  decline: { status: 'failed', shows: (h) => expect(activities(h, 'capturePayment')).toHaveLength(0) },
  'transient-retries': {
    status: 'captured',
    shows: (h) => {
      const authorize = activities(h, 'authorizePayment')[0]!;
      const started = ofType(h, 'ACTIVITY_TASK_STARTED').find(
        (e) => attributes(e).scheduledEventId === authorize.eventId,
      )!;
      expect(attributes(started).attempt).toBeGreaterThanOrEqual(3);
    },
  },
  '3ds-approve': { status: 'captured', shows: (h) => expect(updates(h)).toContain('challengeResult') },
  '3ds-fail': { status: 'rejected_pw', shows: (h) => expect(activities(h, 'authorizePayment')).toHaveLength(0) },
  '3ds-timeout': {
    status: 'cancelled',
    shows: (h) => {
      expect(updates(h)).not.toContain('challengeResult');
      expect(ofType(h, 'TIMER_FIRED')).toHaveLength(1);
    },
  },
  // The card, not the merchant, asked for the challenge: authorize, challenge, authorize again.
  '3ds-required-by-card': {
    status: 'captured',
    shows: (h) => expect(activities(h, 'authorizePayment')).toHaveLength(2),
  },
  '3ds-then-declined': { status: 'failed', shows: (h) => expect(updates(h)).toContain('challengeResult') },
  // The processor declined the capture: the authorization was voided, and the outcome says so.
  'capture-failed': {
    status: 'failed',
    shows: (h) => {
      expect(activities(h, 'capturePayment')).toHaveLength(1);
      expect(activities(h, 'voidAuthorization')).toHaveLength(1);
      const completed = ofType(h, 'WORKFLOW_EXECUTION_COMPLETED')[0]!;
      expect((payloadValue(attributes(completed).result!.payloads[0]!) as PaymentOutcome).message).toMatch(
        /^Capture failed \(.+\); the authorization was voided$/,
      );
    },
  },
  refund: {
    status: 'captured',
    shows: (h) => {
      expect(updates(h)).toContain('refund');
      expect(activities(h, 'refundPayment')).toHaveLength(1);
    },
  },
};

describe('committed histories', () => {
  it('cover every lifecycle branch, nothing else', () => {
    expect([...byBranch.keys()].sort()).toEqual(Object.keys(BRANCHES).sort());
    expect(histories.filter((h) => !(h.branch in BRANCHES)).map((h) => h.name)).toEqual([]);
  });

  it('current recordings are of the type payments start as, with no patch; older ones of the first type', () => {
    const typeOf = (h: CommittedHistory) =>
      (attributes(ofType(h, 'WORKFLOW_EXECUTION_STARTED')[0]!) as { workflowType?: { name: string } }).workflowType
        ?.name;
    const patches = (h: CommittedHistory) =>
      ofType(h, 'MARKER_RECORDED').filter(
        (e) => (attributes(e) as { markerName?: string }).markerName === 'core_patch',
      );
    for (const history of byBranch.values()) {
      expect([history.name, typeOf(history)]).toEqual([history.name, PAYMENT_WORKFLOW_TYPE]);
      expect([history.name, patches(history)]).toEqual([history.name, []]);
      expect([history.name, history.json.includes('TemporalChangeVersion')]).toEqual([history.name, false]);
    }
    const older = histories.filter((h) => h.name !== h.branch);
    expect(older.length).toBeGreaterThan(0);
    for (const history of older) expect([history.name, typeOf(history)]).toEqual([history.name, 'paymentWorkflow']);
  });

  it.each(Object.entries(BRANCHES))('%s: ran to its end with the expected outcome', (branch, expected) => {
    const history = byBranch.get(branch)!;
    const completed = ofType(history, 'WORKFLOW_EXECUTION_COMPLETED');
    expect(completed).toHaveLength(1);
    const outcome = payloadValue(attributes(completed[0]!).result!.payloads[0]!) as PaymentOutcome;
    expect(outcome.status).toBe(expected.status);
    if (branch === 'refund') expect(outcome.refund?.status).toBe('captured');
    expected.shows(history);
  });

  it('carry no card data by the rule of the card-data scan (test/support/card-scan.ts), payloads decoded', () => {
    const scan = (name: string, json: string) => cardDataIn(name, decodedHistory(JSON.parse(json)));
    for (const history of histories) expect(scan(history.name, history.json)).toEqual([]);
    expect(
      scan('pre-change', readFileSync(path.join(__dirname, 'pre-change', 'approve-before-996206a.json'), 'utf8')),
    ).toEqual([]);
    // The scan itself must see into base64 payloads, or the assertion above would prove nothing.
    const leaky = JSON.stringify({
      events: [{ input: { data: Buffer.from('{"pan":"4111 1111 1111 1111"}').toString('base64') } }],
    });
    expect(scan('leaky', leaky)).toHaveLength(1);
  });
});

it('every committed history replays against the current workflow code', async () => {
  const verdicts: ReplayVerdict[] = [];
  for await (const verdict of replayHistories(histories.map((h) => h.replayable))) verdicts.push(verdict);
  expect(verdicts.map((v) => v.workflowId)).toEqual(histories.map((h) => h.name));
  // Failing verdicts carry the SDK's explanation: show them, not just `false`.
  expect(verdicts.filter((v) => !v.ok)).toEqual([]);
});

/**
 * A worker that traces runs the workflows with Temporal's OpenTelemetry interceptors in its bundle (docs/tracing.md):
 * turning tracing on must not wedge a payment recorded without them. They add spans and activity headers, never a
 * command, and on replay they export nothing.
 */
it('every committed history replays with the tracing interceptors in the bundle, exporting no span', async () => {
  const exported = new InMemorySpanExporter();
  const verdicts: ReplayVerdict[] = [];
  for await (const verdict of replayHistories(
    histories.map((h) => h.replayable),
    WORKFLOWS_PATH,
    {
      interceptors: { workflowModules: [...WORKFLOW_INTERCEPTOR_MODULES, ...TRACING_WORKFLOW_INTERCEPTOR_MODULES] },
      sinks: { exporter: makeWorkflowExporter(new SimpleSpanProcessor(exported), Resource.empty()) },
    },
  ))
    verdicts.push(verdict);
  expect(verdicts.map((v) => v.workflowId)).toEqual(histories.map((h) => h.name));
  expect(verdicts.filter((v) => !v.ok)).toEqual([]);
  expect(exported.getFinishedSpans()).toEqual([]);
});
