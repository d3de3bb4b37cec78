import { createHash } from 'node:crypto';
import type { StackProfile } from '../../tools/stack';
import { HISTORY_HOSTS } from '../../tools/temporal-cluster';

/**
 * What a chaos run will do, decided from the seed alone before anything starts: the scenarios (kind, Tid, card,
 * amount, processor) and the fault schedule (which fault, at which scenario, how long it stays down). Each part
 * draws from a generator of its own, and nothing that depends on timing (which webhook attempt the flaky endpoint
 * refuses, which call to Stripe loses its answer) draws from them, so the same seed gives the same list whatever
 * the machine's speed: a failing run is rerun with `CHAOS_SEED=<seed>` and its fingerprint shows the list is the
 * same.
 */
export type Fault =
  | 'kill-worker'
  | 'kill-api'
  /** The dev server, stopped and started again on its data (dev profile only: the cluster has restart-frontend). */
  | 'restart-temporal'
  | 'restart-ferretdb'
  | 'dual-start'
  | 'dual-stop'
  /** Stripe's answers to the next two calls are lost: the calls went through, the worker never hears. */
  | 'lose-stripe-answer'
  // The cluster profile's faults (tools/temporal-cluster.ts), planned only on it (CLUSTER_FAULTS):
  /** SIGKILL of one history host; it stays down until the other host owns every shard, then `downMs` more. */
  | 'kill-history'
  /** SIGKILL of the matching service, started again after `downMs`. */
  | 'kill-matching'
  /** The frontend stopped (SIGTERM) and started again: where every client of Temporal connects. */
  | 'restart-frontend'
  /** The cluster's PostgreSQL (every Temporal service's store) stopped and started again on its data. */
  | 'restart-postgres';

/** Faults only the cluster profile has the processes for. */
export const CLUSTER_FAULTS: ReadonlySet<Fault> = new Set([
  'kill-history',
  'kill-matching',
  'restart-frontend',
  'restart-postgres',
]);
/** Faults of the dev profile's single-process server, which the cluster names by the process it hits instead. */
export const DEV_FAULTS: ReadonlySet<Fault> = new Set(['restart-temporal']);

export type Kind =
  | 'approve'
  | 'decline'
  | 'transient'
  | '3ds-approve'
  | '3ds-fail'
  | '3ds-abandon'
  | 'maestro'
  | 'refund'
  | 'duplicate'
  | 'double-refund';

const MIX: [Kind, number][] = [
  ['approve', 30],
  ['decline', 12],
  ['transient', 8],
  ['3ds-approve', 8],
  ['3ds-fail', 5],
  ['3ds-abandon', 5],
  ['maestro', 4],
  ['refund', 16],
  ['duplicate', 6],
  ['double-refund', 6],
];

/** The scenarios whose customer answers a 3-D Secure challenge (and may be kept from it by a fault). */
export const CHALLENGE_KINDS: ReadonlySet<Kind> = new Set(['3ds-approve', '3ds-fail', 'maestro']);

export const DECLINE_MESSAGES: Record<string, string> = {
  '4000000000000002': 'Card declined',
  '4000000000009995': 'Insufficient funds',
  '4000000000000069': 'Expired card',
};

const CARDS: Record<Kind, string[]> = {
  approve: ['4111111111111111', '4242424242424242', '5555555555554444'],
  decline: Object.keys(DECLINE_MESSAGES),
  transient: ['4000000000000119'],
  '3ds-approve': ['4000000000003220'],
  '3ds-fail': ['4000000000003220'],
  '3ds-abandon': ['4000000000003220'],
  maestro: ['6759649826438453'],
  refund: ['4111111111111111'],
  duplicate: ['4242424242424242'],
  'double-refund': ['5555555555554444'],
};

/**
 * Where a scenario's payment goes: the sandbox simulator, or a merchant connected to Stripe (stripe-mock behind
 * the harness's recording proxy) in live mode or in Stripe's test mode (issue 15; docs/connectors.md). The live
 * mode is the one that moves real money; the test mode is a sandbox merchant that chose Stripe instead of the
 * simulator, whose webhooks may go to the harness's loopback receiver (live ones go to public https only).
 */
export type Processor = 'simulator' | 'stripe-live' | 'stripe-test';

/**
 * The scenarios a Stripe-connected merchant can play: an approving processor (stripe-mock answers every
 * PaymentIntent `requires_capture`), captured, refunded, paid three times at once, refunded twice at once. The
 * others need the simulator's test cards (declines, 3-D Secure, flaky answers) and stay on it.
 */
export const STRIPE_KINDS: ReadonlySet<Kind> = new Set(['approve', 'refund', 'duplicate', 'double-refund']);

/** The share of those scenarios sent to Stripe, half live, half test: about 15% of the whole load. */
export const STRIPE_SHARE = 0.25;

export interface PlannedScenario {
  index: number;
  kind: Kind;
  processor: Processor;
  tid: string;
  card: string;
  /** Minor units; varied so that a movement of the wrong payment's amount shows in the money check. */
  amount: number;
}

export interface PlannedFault {
  fault: Fault;
  /** Fires when scenario number `at` (0-based) starts. */
  at: number;
  /** How long the process or server stays down before it is started again. */
  downMs: number;
  /** Which process of several it hits (kill-history: `history-1` or `history-2`); absent for the others. */
  target?: string;
}

export interface ChaosPlan {
  seed: number;
  /** The stack the run starts (tools/stack.ts): which faults it can have. */
  profile: StackProfile;
  scenarios: PlannedScenario[];
  faults: PlannedFault[];
  /** A short digest of the whole plan: two runs with the same fingerprint ran the same list. */
  fingerprint: string;
}

/** Small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One independent generator per purpose, derived from the run's seed. */
export function generator(seed: number, purpose: 'scenarios' | 'processors' | 'faults' | 'timing'): () => number {
  return prng(createHash('sha256').update(`${seed}:${purpose}`).digest().readUInt32BE(0));
}

const DOWN_MS: Record<Fault, [number, number]> = {
  'kill-worker': [500, 2000],
  'kill-api': [500, 1500],
  'restart-temporal': [1000, 3000],
  'restart-ferretdb': [1000, 3000],
  'dual-start': [0, 0],
  'dual-stop': [0, 0],
  'lose-stripe-answer': [0, 0],
  // Counted from the moment the other host owns every shard (measured at about 5 s after the kill).
  'kill-history': [1000, 5000],
  'kill-matching': [500, 3000],
  'restart-frontend': [1000, 3000],
  'restart-postgres': [1000, 3000],
};

/**
 * The faults of a round, by profile and scale. The dev lists are those every earlier run used: with them a seed
 * still gives the plan (and the fingerprint) recorded in RELIABILITY.md. The cluster lists hold the same process
 * faults, the frontend where the dev lists restart the dev server, and the cluster's own faults; the history host
 * killed alternates from one kill-history to the next (planRun).
 */
export const FAULT_LISTS: Record<StackProfile, { reduced: Fault[]; full: Fault[] }> = {
  dev: {
    reduced: [
      'kill-worker',
      'dual-start',
      'kill-api',
      'restart-temporal',
      'lose-stripe-answer',
      'dual-stop',
      'restart-ferretdb',
      'kill-worker',
    ],
    full: [
      'kill-worker',
      'kill-api',
      'restart-temporal',
      'kill-worker',
      'lose-stripe-answer',
      'dual-start',
      'restart-ferretdb',
      'kill-worker',
      'kill-api',
      'dual-stop',
      'restart-temporal',
      'lose-stripe-answer',
      'kill-worker',
      'restart-ferretdb',
      'kill-api',
      'kill-worker',
    ],
  },
  cluster: {
    reduced: [
      'kill-worker',
      'kill-history',
      'dual-start',
      'kill-api',
      'restart-frontend',
      'kill-matching',
      'lose-stripe-answer',
      'restart-postgres',
      'dual-stop',
      'kill-history',
      'restart-ferretdb',
      'kill-worker',
    ],
    full: [
      'kill-worker',
      'kill-history',
      'kill-api',
      'restart-frontend',
      'kill-matching',
      'lose-stripe-answer',
      'dual-start',
      'restart-postgres',
      'restart-ferretdb',
      'kill-worker',
      'kill-history',
      'kill-api',
      'dual-stop',
      'kill-matching',
      'restart-frontend',
      'lose-stripe-answer',
      'kill-worker',
      'restart-postgres',
      'restart-ferretdb',
      'kill-history',
      'kill-api',
      'kill-worker',
    ],
  },
};

/** Payments of a round when CHAOS_PAYMENTS does not say: the cluster's reduced round has more faults to space out. */
export const DEFAULT_PAYMENTS: Record<StackProfile, { reduced: number; full: number }> = {
  dev: { reduced: 60, full: 1000 },
  cluster: { reduced: 150, full: 1000 },
};

/** Scenarios left after the last fault's: at least three per lane of the reduced rounds (concurrency 6). */
const MIN_TAIL = 20;

export function planRun(seed: number, count: number, faults: Fault[], profile: StackProfile = 'dev'): ChaosPlan {
  const misplaced = faults.filter((f) => (profile === 'cluster' ? DEV_FAULTS : CLUSTER_FAULTS).has(f));
  if (misplaced.length > 0) throw new Error(`${misplaced.join(', ')}: not a fault of the ${profile} profile`);
  const pickScenario = generator(seed, 'scenarios');
  // The processor draws from a generator of its own, one draw per scenario whatever its kind: a seed gives the
  // same kinds, cards and amounts as it did before payments went to Stripe, and the same routing on every run.
  const pickProcessor = generator(seed, 'processors');
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  const scenarios = Array.from({ length: count }, (_, index): PlannedScenario => {
    let roll = pickScenario() * total;
    const kind = MIX.find(([, weight]) => (roll -= weight) < 0)?.[0] ?? 'approve';
    const cards = CARDS[kind];
    const card = cards[Math.floor(pickScenario() * cards.length)]!;
    const amount = 100 + Math.floor(pickScenario() * 99_900);
    const draw = pickProcessor();
    const processor: Processor = !STRIPE_KINDS.has(kind)
      ? 'simulator'
      : draw < STRIPE_SHARE / 2
        ? 'stripe-live'
        : draw < STRIPE_SHARE
          ? 'stripe-test'
          : 'simulator';
    return { index, kind, processor, tid: `chaos-${seed}-${index}`, card, amount };
  });
  const pickFault = generator(seed, 'faults');
  // The faults are spread over the whole run, but the last comes at least MIN_TAIL scenarios before the end: a
  // fault that waited for a slow one before it (a restart takes seconds) must still find the load running. A full
  // round's last fault is far enough already (its plans and fingerprints are what they were); a short round's
  // faults move closer together.
  const lastAt = Math.floor((faults.length * count) / (faults.length + 1));
  const span = lastAt <= count - MIN_TAIL ? count : ((count - MIN_TAIL) * (faults.length + 1)) / faults.length;
  let historyKills = 0;
  let firstHistoryHost = 0;
  const planned = faults.map((fault, i): PlannedFault => {
    const [min, max] = DOWN_MS[fault];
    // Spread evenly, none in the first or last stretch of the run: a fault must find payments in flight.
    const at = Math.floor(((i + 1) * span) / (faults.length + 1));
    const downMs = Math.round(min + pickFault() * (max - min));
    if (fault !== 'kill-history') return { fault, at, downMs };
    // The first host killed is drawn, after this fault's own draw (so the dev lists, which have no kill-history,
    // draw exactly as before); the next kills alternate, so a run with two or more loses each host in turn.
    if (historyKills === 0) firstHistoryHost = Math.floor(pickFault() * HISTORY_HOSTS);
    return { fault, at, downMs, target: `history-${((firstHistoryHost + historyKills++) % HISTORY_HOSTS) + 1}` };
  });
  // A dev plan's digest is taken over what it always was (the recorded fingerprints stay valid); a cluster plan's
  // names its profile too.
  const digested = profile === 'dev' ? { scenarios, planned } : { profile, scenarios, planned };
  const fingerprint = createHash('sha256').update(JSON.stringify(digested)).digest('hex').slice(0, 12);
  return { seed, profile, scenarios, faults: planned, fingerprint };
}

/** A planned fault as the logs name it: `kill-history history-2`, `kill-worker`. */
export const faultName = (fault: { fault: Fault; target?: string }) =>
  fault.target ? `${fault.fault} ${fault.target}` : fault.fault;

/** The plan in one line, for the run's first log line and its figures: what goes where. */
export function describeShares(plan: ChaosPlan): string {
  const on = (processor: Processor) => plan.scenarios.filter((s) => s.processor === processor);
  const kinds = (list: PlannedScenario[]) => {
    const counts = new Map<Kind, number>();
    for (const s of list) counts.set(s.kind, (counts.get(s.kind) ?? 0) + 1);
    return [...counts].map(([kind, n]) => `${kind} ${n}`).join(', ') || 'none';
  };
  return `simulator ${on('simulator').length}; Stripe live ${on('stripe-live').length} (${kinds(on('stripe-live'))}), Stripe test ${on('stripe-test').length} (${kinds(on('stripe-test'))})`;
}

/** What a rerun of this exact plan needs, printed at the start and on failure. */
export function rerunCommand(
  seed: number,
  full: boolean,
  payments: number | undefined,
  profile: StackProfile = 'dev',
): string {
  const env = [
    ...(profile === 'cluster' ? ['SETTLEFLOW_STACK=cluster'] : []),
    `CHAOS_SEED=${seed}`,
    ...(payments !== undefined ? [`CHAOS_PAYMENTS=${payments}`] : []),
  ].join(' ');
  return full ? `${env} npm run chaos` : `npm run build && ${env} npx jest --selectProjects chaos`;
}
