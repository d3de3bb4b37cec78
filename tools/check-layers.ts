import path from 'node:path';
import { projectRoot } from './binaries';

/**
 * `npm run check:layers` (part of `npm test`): the import graph of the code, read by madge, must have no cycle and
 * must point one way through the layers of docs/architecture.md. Type-only imports are left out: they vanish at
 * build time (the workflow imports activity types, for instance) and ESLint keeps workflows to types anyway.
 */
interface MadgeResult {
  obj(): Record<string, string[]>;
  circular(): string[][];
}
type Madge = (paths: string[], config: Record<string, unknown>) => Promise<MadgeResult>;
// madge ships no type declarations: this is the part of its API used here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const madge = require('madge') as Madge;

/** Lowest first. A module may import its own layer or a lower one, never a higher one. */
const LAYERS: { name: string; matches: (file: string) => boolean }[] = [
  { name: 'vocabulary (workflows/vocabulary.ts)', matches: (f) => f === 'workflows/vocabulary.ts' },
  { name: 'workflows (workflows/)', matches: (f) => f.startsWith('workflows/') && f !== 'workflows/vocabulary.ts' },
  { name: 'services and wire contract (src/ below the entry points)', matches: (f) => f.startsWith('src/') },
  { name: 'activities (activities/)', matches: (f) => f.startsWith('activities/') },
  {
    name: 'entry points (API, worker, admin command, tools, benchmarks)',
    matches: (f) =>
      ['src/main.ts', 'src/worker.ts'].includes(f) ||
      f.startsWith('src/cli/') ||
      f.startsWith('tools/') ||
      f.startsWith('bench/'),
  },
];

function layerOf(file: string): number {
  // The entry points are checked first: they live inside src/ too.
  for (let i = LAYERS.length - 1; i >= 0; i--) if (LAYERS[i]!.matches(file)) return i;
  throw new Error(`${file} belongs to no layer: add it to tools/check-layers.ts`);
}

async function main(): Promise<void> {
  const graph = await madge(['src', 'workflows', 'activities', 'tools', 'bench'], {
    baseDir: projectRoot,
    fileExtensions: ['ts'],
    tsConfig: path.join(projectRoot, 'tsconfig.json'),
    detectiveOptions: { ts: { skipTypeImports: true } },
    // The dashboard's browser app is bundled by Vite and never imported by the server (docs/dashboard.md).
    excludeRegExp: [/^src\/dashboard-ui\//],
  });
  const problems: string[] = graph.circular().map((cycle) => `cycle: ${cycle.join(' → ')}`);
  for (const [from, imports] of Object.entries(graph.obj())) {
    for (const to of imports) {
      if (layerOf(to) > layerOf(from))
        problems.push(`${from} (${LAYERS[layerOf(from)]!.name}) imports ${to} (${LAYERS[layerOf(to)]!.name})`);
    }
  }
  const modules = Object.keys(graph.obj()).length;
  if (problems.length > 0) {
    console.error(
      `check:layers: ${problems.length} problem(s) in ${modules} modules:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    process.exit(1);
  }
  console.log(
    `check:layers: ${modules} modules, no cycle, every import points down the layers of docs/architecture.md`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
