import { createHash } from 'node:crypto';

/**
 * What a chaos run will do, decided from the seed alone before anything starts: the scenarios (kind, Tid, card,
 * amount) and the fault schedule (which fault, at which scenario, how long it stays down). Each part draws from a
 * generator of its own, and nothing that depends on timing (which webhook attempt the flaky endpoint refuses)
 * draws from them, so the same seed gives the same list whatever the machine's speed: a failing run is rerun with
 * `CHAOS_SEED=<seed>` and its fingerprint shows the list is the same.
 */
export type Fault = 'kill-worker' | 'kill-api' | 'restart-temporal' | 'restart-ferretdb' | 'dual-start' | 'dual-stop';

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

export interface PlannedScenario {
  index: number;
  kind: Kind;
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
}

export interface ChaosPlan {
  seed: number;
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
export function generator(seed: number, purpose: 'scenarios' | 'faults' | 'timing'): () => number {
  return prng(createHash('sha256').update(`${seed}:${purpose}`).digest().readUInt32BE(0));
}

const DOWN_MS: Record<Fault, [number, number]> = {
  'kill-worker': [500, 2000],
  'kill-api': [500, 1500],
  'restart-temporal': [1000, 3000],
  'restart-ferretdb': [1000, 3000],
  'dual-start': [0, 0],
  'dual-stop': [0, 0],
};

export function planRun(seed: number, count: number, faults: Fault[]): ChaosPlan {
  const pickScenario = generator(seed, 'scenarios');
  const total = MIX.reduce((sum, [, weight]) => sum + weight, 0);
  const scenarios = Array.from({ length: count }, (_, index): PlannedScenario => {
    let roll = pickScenario() * total;
    const kind = MIX.find(([, weight]) => (roll -= weight) < 0)?.[0] ?? 'approve';
    const cards = CARDS[kind];
    const card = cards[Math.floor(pickScenario() * cards.length)]!;
    const amount = 100 + Math.floor(pickScenario() * 99_900);
    return { index, kind, tid: `chaos-${seed}-${index}`, card, amount };
  });
  const pickFault = generator(seed, 'faults');
  const planned = faults.map((fault, i): PlannedFault => {
    const [min, max] = DOWN_MS[fault];
    // Spread evenly, none in the first or last stretch of the run: a fault must find payments in flight.
    return {
      fault,
      at: Math.floor(((i + 1) * count) / (faults.length + 1)),
      downMs: Math.round(min + pickFault() * (max - min)),
    };
  });
  const fingerprint = createHash('sha256').update(JSON.stringify({ scenarios, planned })).digest('hex').slice(0, 12);
  return { seed, scenarios, faults: planned, fingerprint };
}

/** What a rerun of this exact plan needs, printed at the start and on failure. */
export function rerunCommand(seed: number, full: boolean, payments: number | undefined): string {
  const env = [`CHAOS_SEED=${seed}`, ...(payments !== undefined ? [`CHAOS_PAYMENTS=${payments}`] : [])].join(' ');
  return full ? `${env} npm run chaos` : `npm run build && ${env} npx jest --selectProjects chaos`;
}
