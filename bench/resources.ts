import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

/**
 * What the bench's processes cost, read from Linux's /proc: per process (or per process tree) CPU time and
 * resident memory, and the whole machine's busy share, over each measured window.
 */

/** Peak RSS and CPU of one process (or tree) over a scenario. CPU is % of one core: 200% is both cores of a 2-core box. */
export interface ProcessUsage {
  peakRssMb: number;
  peakCpu: number;
  avgCpu: number;
  /** CPU time used over the window, and the window's length: what the CPU cost per request is computed from. */
  cpuMs?: number;
  wallMs?: number;
}

/** The whole machine over a window, every process on it included (ours and anything else sharing the cores). */
export interface MachineUsage {
  cores: number;
  /** Busy share of all cores, 0–100 (user, system, interrupts, steal; not idle or I/O wait). */
  busyPct: number;
}

/**
 * A process to sample: its pid, or `{ tree: pid }` for the process and every descendant it has at each sample
 * (PostgreSQL's postmaster forks a backend per connection, and the backends do the work).
 */
export type Sampled = number | { tree: number };

interface ProcStat {
  ppid: number;
  /** utime + stime, in clock ticks. */
  ticks: number;
  /** cutime + cstime: the children it has reaped (a backend that exits moves here from the tree's live members). */
  reapedTicks: number;
  rssPages: number;
}

function getconf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

let units: { tickMs: number; pageBytes: number } | undefined;
function procUnits(): { tickMs: number; pageBytes: number } {
  units ??= { tickMs: 1000 / getconf('CLK_TCK', 100), pageBytes: getconf('PAGESIZE', 4096) };
  return units;
}

/** /proc/<pid>/stat, or undefined when the process is gone (see proc(5) for the field numbers). */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces or parentheses: split after the last.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime..cstime are 14..17, rss is 24.
  const at = (field: number) => Number(fields[field - 3]);
  return { ppid: at(4), ticks: at(14) + at(15), reapedTicks: at(16) + at(17), rssPages: at(24) };
}

/** Resident pages not shared with other processes (statm's resident less shared: anonymous memory). */
function privatePages(pid: number): number {
  try {
    const [, resident, shared] = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ').map(Number);
    return Math.max(0, resident! - shared!);
  } catch {
    return 0;
  }
}

/** Every process's parent, read once per sample when some sampled entry is a tree. */
function childrenByParent(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(Number(name));
    children.set(stat.ppid, list);
  }
  return children;
}

/**
 * CPU time (ms) and RSS (bytes) of one process, or of it and all its descendants; undefined when it is gone. In a
 * tree the descendants add only their private memory: PostgreSQL's backends all map its shared buffers, which
 * would otherwise be counted once per backend.
 */
function readUsage(
  sampled: Sampled,
  children: Map<number, number[]> | undefined,
): { cpuMs: number; rss: number } | undefined {
  const root = typeof sampled === 'number' ? sampled : sampled.tree;
  const rootStat = readStat(root);
  if (!rootStat) return undefined;
  const { tickMs, pageBytes } = procUnits();
  let ticks = rootStat.ticks;
  let pages = rootStat.rssPages;
  if (typeof sampled !== 'number' && children) {
    ticks += rootStat.reapedTicks;
    const queue = [...(children.get(root) ?? [])];
    for (let pid = queue.pop(); pid !== undefined; pid = queue.pop()) {
      const stat = readStat(pid);
      if (!stat) continue; // exited and reaped since the listing: its time is in its parent's cutime now
      ticks += stat.ticks + stat.reapedTicks;
      pages += privatePages(pid);
      queue.push(...(children.get(pid) ?? []));
    }
  }
  return { cpuMs: ticks * tickMs, rss: pages * pageBytes };
}

/** The aggregate `cpu` line of /proc/stat: busy and total jiffies since boot. */
function readMachine(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
  return { busy, total: busy + idle! + iowait! };
}

/** CPU time (ms) the given processes (trees included) have used so far, for a caller that takes differences. */
export function cpuMsOf(sampled: Sampled[]): number {
  const children = sampled.some((s) => typeof s !== 'number') ? childrenByParent() : undefined;
  return sampled.reduce<number>((sum, s) => sum + (readUsage(s, children)?.cpuMs ?? 0), 0);
}

interface Tracked {
  first?: { cpuMs: number; at: number };
  last?: { cpuMs: number; at: number };
  peakRss: number;
  peakCpu: number;
}

/**
 * Samples the stack's processes every 500 ms from /proc. Peak CPU is the highest 500 ms sample; average CPU is
 * CPU time used over wall time of the scenario, so short spikes cannot hide how busy a process was overall.
 * The machine's busy share over the same window says whether the cores were saturated (by us or by anything else).
 */
export class ResourceSampler {
  private timer?: NodeJS.Timeout;
  private tracked = new Map<string, Tracked>();
  private machineFirst?: { busy: number; total: number };

  constructor(private readonly pids: () => Record<string, Sampled | undefined>) {}

  start(): void {
    this.tracked = new Map();
    this.machineFirst = readMachine();
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
  }

  stop(): { usage: Record<string, ProcessUsage>; machine: MachineUsage } {
    clearInterval(this.timer);
    this.sample();
    const machineLast = readMachine();
    const usage: Record<string, ProcessUsage> = {};
    for (const [name, t] of this.tracked) {
      const wallMs = t.first && t.last ? t.last.at - t.first.at : 0;
      const cpuMs = t.first && t.last ? t.last.cpuMs - t.first.cpuMs : 0;
      usage[name] = {
        peakRssMb: Math.round(t.peakRss / 1024 / 1024),
        peakCpu: Math.round(t.peakCpu),
        avgCpu: wallMs > 0 ? Math.round((cpuMs / wallMs) * 100) : 0,
        cpuMs: Math.round(cpuMs),
        wallMs: Math.round(wallMs),
      };
    }
    const first = this.machineFirst ?? machineLast;
    const total = machineLast.total - first.total;
    const busyPct = total > 0 ? Math.round(((machineLast.busy - first.busy) / total) * 1000) / 10 : 0;
    return { usage, machine: { cores: os.cpus().length, busyPct } };
  }

  private sample(): void {
    const named = Object.entries(this.pids()).filter((entry): entry is [string, Sampled] => entry[1] !== undefined);
    if (named.length === 0) return;
    const children = named.some(([, s]) => typeof s !== 'number') ? childrenByParent() : undefined;
    const at = performance.now();
    for (const [name, sampled] of named) {
      const read = readUsage(sampled, children);
      if (!read) continue; // exited between listing and sampling; the next tick samples the rest
      const t = this.tracked.get(name) ?? { peakRss: 0, peakCpu: 0 };
      const point = { cpuMs: read.cpuMs, at };
      if (t.last && at > t.last.at)
        t.peakCpu = Math.max(t.peakCpu, ((point.cpuMs - t.last.cpuMs) / (at - t.last.at)) * 100);
      t.first ??= point;
      t.last = point;
      t.peakRss = Math.max(t.peakRss, read.rss);
      this.tracked.set(name, t);
    }
  }
}
