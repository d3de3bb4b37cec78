import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Test and benchmark runs each keep their data (and logs) in `<root>/run-<pid>` until a later run removes it. Only
 * dirs whose process is gone are removed: a run still going on the same machine keeps its own.
 */
export function removeStaleRunDirs(root: string): void {
  if (!existsSync(root)) return;
  for (const entry of readdirSync(root)) {
    const pid = Number(entry.replace(/^run-/, ''));
    if (!Number.isInteger(pid) || !isAlive(pid)) rmSync(path.join(root, entry), { recursive: true, force: true });
  }
}
