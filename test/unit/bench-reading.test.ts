import { spawn } from 'node:child_process';
import {
  costPerRequest,
  cpuAgainstEngine,
  cpuFloorAgainstEngine,
  limitReading,
  obsCost,
  obsReading,
  sizing,
} from '../../bench/reading';
import {
  type Measured,
  observabilitySection,
  type ObsWindow,
  type Step,
  type SteppedScenario,
} from '../../bench/report';
import { cpuMsOf, type ProcessUsage, ResourceSampler } from '../../bench/resources';

/**
 * The bench's reading of its own figures (bench/reading.ts) fed made-up runs: each verdict must follow from the
 * numbers. And the /proc sampler (bench/resources.ts) on this process and a child it starts.
 */

const usage = (avgCpu: number, cpuMs: number, wallMs = 10_000): ProcessUsage => ({
  avgCpu,
  peakCpu: avgCpu,
  peakRssMb: 100,
  cpuMs,
  wallMs,
});

function run(
  label: string,
  rate: number,
  completed: number,
  use: Record<string, ProcessUsage>,
  busyPct: number,
): Measured {
  return {
    label,
    model: 'open',
    targetRate: rate,
    connections: rate,
    durationS: 10,
    sent: completed,
    achievedRate: rate,
    completed,
    throughput: completed / 10,
    latencyMs: { p50: 100, p95: 200, p99: 300, max: 400, mean: 120 },
    errors: 0,
    errorKinds: {},
    usage: use,
    machine: { cores: 2, busyPct },
  };
}

const step = (m: Measured, verdict: Step['verdict'] = 'ok'): Step => ({ ...m, verdict });

describe('CPU per request', () => {
  it('takes the half-rate run, subtracts each process’s idle CPU over as long, and leaves the load tool out', () => {
    const half = run('half rate', 5, 50, { worker: usage(50, 5000), api: usage(10, 1000), load: usage(30, 3000) }, 40);
    const s: SteppedScenario = { steps: [step(run('10/s', 10, 100, {}, 50))], sustainableRate: 10, half };
    const cost = costPerRequest(s, { worker: usage(5, 500), api: usage(0, 0) })!;
    // worker: (5000 - 5% of 10 s) / 50 = 90 ms; api: 1000 / 50 = 20 ms.
    expect(cost.perProcess).toEqual({ worker: 90, api: 20 });
    expect(cost.totalMs).toBe(110);
    expect(cost.run).toBe('half rate');
  });
});

describe('CPU per payment against the engine workflow', () => {
  const cost = (totalMs: number) => ({ run: 'half rate', rate: 5, completed: 100, perProcess: {}, totalMs });

  it('is their quotient to three significant figures, the one figure the side-by-side table and the ratios show', () => {
    expect(cpuAgainstEngine({ payments: cost(130.7), engine: cost(88.3) })).toBe(1.48);
  });

  it("has a floor: the engine's workflow and the payment's own work outside Temporal, over the engine's workflow", () => {
    expect(cpuFloorAgainstEngine({ engine: cost(120), work: cost(48) })).toBe(1.4);
    expect(cpuFloorAgainstEngine({ engine: cost(120) })).toBeUndefined();
    expect(cpuFloorAgainstEngine({ engine: cost(0), work: cost(48) })).toBeUndefined();
  });

  it('is undefined while either is missing or the engine cost nothing', () => {
    expect(cpuAgainstEngine({ payments: cost(130.7) })).toBeUndefined();
    expect(cpuAgainstEngine({ payments: cost(130.7), engine: cost(0) })).toBeUndefined();
  });
});

describe('what limits a stepped scenario', () => {
  const cost = {
    run: 'half rate',
    rate: 5,
    completed: 50,
    perProcess: { worker: 60, 'worker-2': 50, 'history-1': 10, 'history-2': 12, api: 8 },
    totalMs: 140,
  };
  const ladder = (last: Measured, verdict: Step['verdict']): SteppedScenario => ({
    steps: [step(run('10/s', 10, 100, {}, 50)), step(last, verdict)],
    sustainableRate: 10,
    endedBy: 'broke',
  });

  it('calls saturated cores CPU-bound, with the role that costs the most per request', () => {
    const text = limitReading(
      'payments',
      ladder(run('15/s', 15, 140, { worker: usage(80, 8000), 'worker-2': usage(70, 7000) }, 97), 'p99 > 1 s'),
      cost,
    );
    expect(text).toContain('15/s broke (p99 > 1 s)');
    expect(text).toContain('CPU-bound');
    expect(text).toContain('SettleFlow worker (2 processes) 110 ms (79%)');
    // Ours: 150% of a core over 2 cores = 75%; the other 22% ran beside the bench.
    expect(text).toContain("this bench's processes 75%, anything else 22%");
  });

  it('names a Node process at a full core when the machine was not saturated', () => {
    const text = limitReading(
      'payments',
      ladder(run('15/s', 15, 140, { api: usage(95, 9500) }, 60), 'p99 > 1 s'),
      cost,
    );
    expect(text).toContain('api ran at 95% of one core');
    expect(text).not.toContain('CPU-bound');
  });

  it('says the time went to waiting when neither the machine nor a process was at its limit', () => {
    const text = limitReading(
      'engine ceiling',
      ladder(run('15/s', 15, 140, { temporal: usage(95, 9500) }, 55), 'achieved < 95%'),
      cost,
    );
    // A Go server at 95% of one core is not single-threaded: not the event-loop reading.
    expect(text).toContain('Not CPU-bound');
    expect(text).toContain('waiting');
  });

  it('reports errors as a failure, and a ladder cut by the time budget as a ceiling not found', () => {
    const failed = ladder(run('15/s', 15, 140, {}, 30), 'errors');
    failed.steps[1]!.errorKinds = { 'HTTP 500': 3 };
    expect(limitReading('payments', failed, cost)).toContain('broke on errors (HTTP 500: 3)');
    const cut: SteppedScenario = {
      steps: [step(run('10/s', 10, 100, {}, 50))],
      sustainableRate: 10,
      endedBy: 'time budget',
    };
    const reading = limitReading('payments', cut, cost);
    expect(reading).toContain('not found');
    expect(reading).toContain("At 10/s the machine's 2 cores were 50% busy");
    // No limit was reached: no verdict on what it would have been.
    expect(reading).not.toMatch(/CPU-bound|waiting|event loop/);
  });
});

describe('sizing', () => {
  const payments: SteppedScenario = { steps: [], sustainableRate: 32 };
  const engine: SteppedScenario = { steps: [], sustainableRate: 48 };
  const cost = {
    run: 'half rate',
    rate: 16,
    completed: 480,
    perProcess: { worker: 20, 'worker-2': 20, 'history-1': 10, 'history-2': 15, frontend: 5, matching: 5, api: 10 },
    totalMs: 85,
  };

  it('divides by the shards, and turns CPU ms per payment into payments per core', () => {
    expect(sizing(16, payments, engine, cost, true)).toMatchObject({
      paymentsPerShard: 2,
      enginePerShard: 3,
      historyMsPerPayment: 25,
      paymentsPerHistoryCore: 40,
      temporalMsPerPayment: 35,
      workerMsPerPayment: 40,
      paymentsPerWorkerCore: 25,
      paymentsPerApiCore: 100,
    });
  });

  it('has no history figure when one process runs every service', () => {
    const z = sizing(1, payments, engine, { ...cost, perProcess: { temporal: 50, worker: 40 } }, false);
    expect(z.historyMsPerPayment).toBeUndefined();
    expect(z.temporalMsPerPayment).toBe(50);
    expect(z.paymentsPerShard).toBe(32);
  });
});

describe('observability cost', () => {
  // One window: 100 payments; the API and worker at 10 s of wall time; the load tool left out of every figure.
  const window = (api: number, worker: number, jaeger: number) =>
    run(
      'w',
      10,
      100,
      {
        api: usage(0, api),
        worker: usage(0, worker),
        temporal: usage(0, 1000),
        jaeger: usage(0, jaeger),
        load: usage(0, 9000),
      },
      50,
    );
  const idle = { api: usage(1, 100), worker: usage(2, 200), temporal: usage(5, 500) };

  it('sums the windows, subtracts idle over each, pools the latencies, and keeps Jaeger apart', () => {
    const c = obsCost('C', [window(600, 1200, 300), window(800, 1400, 500)], [10, 20, 30, 400], idle);
    // api: (600 + 800 - 2 × 1% of 10 s) / 200 = 6.0 ms; worker: (1200 + 1400 - 2 × 200) / 200 = 11.0 ms.
    expect(c).toMatchObject({ apiMs: 6, workerMs: 11, settleflowMs: 17, completed: 200, windows: 2 });
    // Temporal: (2000 - 2 × 500) / 200 = 5 ms; the stack is SettleFlow's and Temporal's, not Jaeger or the load tool.
    expect(c.stackMs).toBe(22);
    expect(c.jaegerMs).toBe(4);
    expect(c.perProcess.load).toBeUndefined();
    // Each window on its own: (600 - 100 + 1200 - 200) / 100 and (800 - 100 + 1400 - 200) / 100.
    expect(c.perRound).toEqual([15, 19]);
    expect(c.latencyMs.p50).toBe(20);
    expect(c.latencyMs.p99).toBe(400);
    expect(c.label).toBe('metrics on, tracing on (Jaeger)');
  });

  it('reads B against A for metrics and C against B for tracing, and names the spread between rounds', () => {
    const a = obsCost('A', [window(600, 1200, 10), window(600, 1300, 10)], [10, 20], idle);
    const b = obsCost('B', [window(700, 1300, 10), window(700, 1300, 10)], [10, 22], idle);
    const c = obsCost('C', [window(900, 1800, 200), window(900, 1800, 200)], [15, 30], idle);
    const text = obsReading([a, b, c]);
    // A: (1200 - 200 + 2500 - 400) / 200 = 15.5; B: (1400 - 200 + 2600 - 400) / 200 = 17; C: 24.
    expect(text).toContain(
      "Metrics (B against A): +1.5 ms CPU per payment in SettleFlow's API and worker (15.5 → 17 ms)",
    );
    expect(text).toContain('Tracing on top (C against B): +7 ms');
    expect(text).toContain('p99 +8 ms');
    // Jaeger: 2 ms per payment in C, 0.1 in A.
    expect(text).toContain('Jaeger, the backend, used 2 ms of CPU per payment receiving them, against 0.1 ms idle');
    expect(text).toContain('(×1.55)');
    // A's rounds: 15 and 16.
    expect(text).toContain('moved by up to 1 ms');
    expect(obsReading([a, b])).toContain('not every configuration ran');
  });

  it('renders a column per configuration with its difference from A, and the checks', () => {
    const windows = (['A', 'B', 'C'] as const).map((config): ObsWindow => ({
      ...window(600, 1200, 10),
      config,
      round: 1,
      metricsScrapes: config === 'A' ? 0 : 2,
      traced: config === 'C' ? 100 : 0,
      tracedWithWorker: config === 'C' ? 99 : 0,
    }));
    const costs = [
      obsCost('A', [windows[0]!], [10, 100], idle),
      obsCost('B', [windows[1]!], [10, 110], idle),
      obsCost('C', [{ ...windows[2]!, usage: window(660, 1500, 300).usage }], [12, 150], idle),
    ];
    const text = observabilitySection('dev', {
      rate: 10,
      rateFrom: 'BENCH_OBS_RATE',
      seconds: 10,
      rounds: 1,
      scrapeIntervalS: 15,
      costs,
      windows,
      reading: obsReading(costs),
    }).join('\n');
    expect(text).toContain('#### Observability cost: dev');
    expect(text).toContain(
      '| | A: metrics off, tracing off | B: metrics on, tracing off | C: metrics on, tracing on (Jaeger) |',
    );
    // SettleFlow: A and B 15 ms, C (660 - 100 + 1500 - 200) / 100 = 18.6.
    expect(text).toContain(
      "| **SettleFlow's API + worker, CPU ms per payment** | **15** | **15 (+0, ×1.00)** | **18.6 (+3.6, ×1.24)** |",
    );
    expect(text).toContain('| **p99 ms** | **100** | **110 (+10)** | **150 (+50)** |');
    expect(text).toContain('| metrics scrapes answered | — (listeners off) | 2 | 2 |');
    expect(text).toContain('| payments traced in Jaeger (with worker spans) | 0 (0) | 0 (0) | 100 (99) |');
    expect(text).toContain('**10/s** (BENCH_OBS_RATE)');
  });
});

describe('the /proc sampler', () => {
  it('counts a process tree’s children, and the machine’s busy share', async () => {
    // A child that burns 600 ms of CPU however busy the machine is: this process alone does not see it, its tree does.
    const child = spawn(process.execPath, ['-e', 'while (process.cpuUsage().user < 600_000);']);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    const sampler = new ResourceSampler(() => ({ self: process.pid, tree: { tree: process.pid } }));
    const before = cpuMsOf([{ tree: process.pid }]);
    sampler.start();
    await exited;
    const { usage: used, machine } = sampler.stop();
    expect(cpuMsOf([{ tree: process.pid }]) - before).toBeGreaterThan(400);
    expect(used.tree!.cpuMs!).toBeGreaterThan(used.self!.cpuMs! + 400);
    expect(used.tree!.peakRssMb).toBeGreaterThan(0);
    expect(machine.busyPct).toBeGreaterThan(0);
    expect(machine.busyPct).toBeLessThanOrEqual(100);
  });
});
