import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The checkout (or image) root: the nearest folder above this file with a package.json. The same answer whether
 * code runs from its TypeScript source (tests) or from `dist/` (compiled), so defaults such as `.data/` and the
 * served OpenAPI document never depend on the working directory.
 */
function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && path.basename(dir) !== 'dist') return dir;
    if (path.dirname(dir) === dir) throw new Error(`cannot find the project root above ${start}`);
  }
}

export const projectRoot = findProjectRoot(__dirname);
