import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** A child process of the local stack: its output goes to a log file, and it is stopped gently, then firmly. */
export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Resolves when the process has exited. */
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: {
    logDir: string;
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Only stderr goes to the log, for a program that writes what must not be kept (card data) to stdout. */
    discardStdout?: boolean;
    /** Run as this user and group (PostgreSQL refuses to run as root: tools/postgres.ts). */
    uid?: number;
    gid?: number;
    /** The signal of a gentle stop; default SIGTERM (PostgreSQL's fast shutdown is SIGINT). */
    stopSignal?: NodeJS.Signals;
  },
): ManagedProcess {
  mkdirSync(options.logDir, { recursive: true });
  const logFile = path.join(options.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    uid: options.uid,
    gid: options.gid,
    stdio: ['ignore', options.discardStdout ? 'ignore' : 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      log.end(`\n[${new Date().toISOString()}] ${name} exited (code ${code}, signal ${signal})\n`);
      resolve(code);
    });
    child.on('error', (err) => {
      log.end(`\n[${new Date().toISOString()}] ${name} failed to start: ${err.message}\n`);
      resolve(null);
    });
  });

  return {
    name,
    child,
    logFile,
    exited,
    async stop(graceMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(options.stopSignal ?? 'SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `check` until it resolves true, failing early if the process dies, and with a clear timeout message. */
export async function waitUntilReady(
  proc: ManagedProcess | undefined,
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let died = false;
  void proc?.exited.then(() => (died = true));
  for (;;) {
    if (died) throw new Error(`${what} exited during start-up; see ${proc?.logFile}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${what} was not ready after ${Math.round(timeoutMs / 1000)}s${proc ? `; see ${proc.logFile}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function portIsOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

export function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  return { host: address.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(address.slice(at + 1)) };
}

/** A process that never became ready is stopped, not left running behind the error. */
export async function readyOrStopped(proc: ManagedProcess, ready: () => Promise<void>): Promise<void> {
  try {
    await ready();
  } catch (err) {
    await proc.stop();
    throw err;
  }
}
