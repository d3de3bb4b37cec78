import { execFile } from 'node:child_process';
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
