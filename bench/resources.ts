import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import pidusage from 'pidusage';

/** Peak RSS and CPU of one process over a scenario. CPU is % of one core: 200% is both cores of a 2-core box. */
export interface ProcessUsage {
  peakRssMb: number;
  peakCpu: number;
  avgCpu: number;
}

interface Tracked {
  first?: { ctime: number; at: number };
  last?: { ctime: number; at: number };
  peakRss: number;
  peakCpu: number;
}

/**
 * Samples the stack's processes every 500 ms with pidusage. Peak CPU is the highest 500 ms sample; average CPU
 * is CPU time used over wall time of the scenario, so short spikes cannot hide how busy a process was overall.
 */
export class ResourceSampler {
  private timer?: NodeJS.Timeout;
  private tracked = new Map<string, Tracked>();
  private pending: Promise<void> = Promise.resolve();

  constructor(private readonly pids: () => Record<string, number | undefined>) {}

  start(): void {
    this.tracked = new Map();
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
  }

  async stop(): Promise<Record<string, ProcessUsage>> {
    clearInterval(this.timer);
    await this.pending;
    this.sample();
    await this.pending;
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, t] of this.tracked) {
      const wall = t.first && t.last ? t.last.at - t.first.at : 0;
      usage[name] = {
        peakRssMb: Math.round(t.peakRss / 1024 / 1024),
        peakCpu: Math.round(t.peakCpu),
        avgCpu: wall > 0 ? Math.round(((t.last!.ctime - t.first!.ctime) / wall) * 100) : 0,
      };
    }
    return usage;
  }

  private sample(): void {
    const named = Object.entries(this.pids()).filter((entry): entry is [string, number] => entry[1] !== undefined);
    if (named.length === 0) return;
    // One sampling at a time: pidusage's per-pid history makes each CPU figure "since the previous sample".
    this.pending = this.pending.then(async () => {
      let stats: Record<string, pidusage.Status>;
      try {
        stats = await pidusage(named.map(([, pid]) => pid));
      } catch {
        return; // a process exited between listing and sampling; the next tick samples the rest
      }
      for (const [name, pid] of named) {
        const s = stats[pid];
        if (!s) continue;
        const t = this.tracked.get(name) ?? { peakRss: 0, peakCpu: 0 };
        const point = { ctime: s.ctime, at: s.timestamp };
        // The very first figure is the average since the process started, not a 500 ms sample.
        if (t.first) t.peakCpu = Math.max(t.peakCpu, s.cpu);
        t.first ??= point;
        t.last = point;
        t.peakRss = Math.max(t.peakRss, s.memory);
        this.tracked.set(name, t);
      }
    });
  }
}

let clockTicksPerSecond: number | undefined;

/** Linux's clock ticks per second, the unit of /proc's CPU times. */
function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicksPerSecond = Number(answer.stdout?.trim()) || 100;
  }
  return clockTicksPerSecond;
}

/** A process's parent and CPU ticks: its own (utime + stime) and its reaped children's (cutime + cstime). */
function procStat(pid: number): { ppid: number; ticks: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or not Linux
  }
  // The command name (field 2) may hold spaces and parentheses: the fixed fields start after its last `)`.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), ticks: field(14) + field(15) + field(16) + field(17) };
}

/**
 * CPU time (ms) used so far by a process and every process below it, the exited ones included (their time is in
 * their parent's cutime once reaped). pidusage samples one pid; PostgreSQL serves each connection from a process of
 * its own, so a server's cost is its whole tree. Linux only (/proc); NaN elsewhere.
 */
export function processTreeCpuMs(root: number): number {
  if (!procStat(root)) return Number.NaN;
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const stat = procStat(pid);
    if (!stat) continue;
    ticks.set(pid, stat.ticks);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  let total = 0;
  for (const queue = [root]; queue.length > 0;) {
    const pid = queue.pop()!;
    total += ticks.get(pid) ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return (total * 1000) / ticksPerSecond();
}
