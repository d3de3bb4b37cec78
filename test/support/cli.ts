import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

/** The built `settleflow` admin command, as an operator runs it (`npm run build` first). */
export const SETTLEFLOW_CLI = path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');

const run = promisify(execFile);

/** Runs the command with `--json` in the given environment and returns its parsed output; a failure throws. */
export async function settleflowJsonIn<T = Record<string, unknown>>(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<T> {
  const { stdout } = await run(process.execPath, [SETTLEFLOW_CLI, ...args, '--json'], { env });
  return JSON.parse(stdout) as T;
}

/** The same, against the test stack this process was given. */
export function settleflowJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  return settleflowJsonIn<T>(process.env, ...args);
}

export interface SettleflowRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command with `input` on its stdin (as `--password-stdin` reads a password: never on the command line) and
 * answers how it ended; a failing command does not throw, so that a test can say what it expected.
 */
export function settleflowWithStdin(input: string, ...args: string[]): Promise<SettleflowRun> {
  return settleflowRun(args, { input });
}

/** The same, with variables added to the command's environment. */
export function settleflowRun(
  args: string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<SettleflowRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SETTLEFLOW_CLI, ...args], { env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
