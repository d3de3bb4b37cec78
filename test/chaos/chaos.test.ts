import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execSync } from 'node:child_process';
import { type ChaosOptions, type Fault, runChaos } from './harness';

/**
 * `npm test` runs a reduced chaos round (every kind of fault once, tens of payments); `npm run chaos` runs the
 * full one (CHAOS_SCALE=full: ≥ 1,000 payments, every fault several times) and records its figures in
 * RELIABILITY.md. Either way the invariants must hold with zero violations.
 */
const full = process.env.CHAOS_SCALE === 'full';
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);

const REDUCED: Fault[] = ['kill-worker', 'dual-start', 'kill-api', 'restart-temporal', 'dual-stop', 'restart-ferretdb', 'kill-worker'];
const FULL: Fault[] = [
  'kill-worker', 'kill-api', 'restart-temporal', 'kill-worker', 'dual-start', 'restart-ferretdb', 'kill-worker',
  'kill-api', 'dual-stop', 'restart-temporal', 'kill-worker', 'restart-ferretdb', 'kill-api', 'kill-worker',
];

const options: Omit<ChaosOptions, 'log'> = full
  ? { scenarios: Number(process.env.CHAOS_PAYMENTS ?? 1000), concurrency: 10, faults: FULL, seed }
  : { scenarios: Number(process.env.CHAOS_PAYMENTS ?? 60), concurrency: 6, faults: REDUCED, seed };

function record(report: Awaited<ReturnType<typeof runChaos>>): void {
  const file = path.join(__dirname, '..', '..', 'RELIABILITY.md');
  if (!existsSync(file)) {
    writeFileSync(file, '# Reliability\n\nFigures of full fault-injection runs (`npm run chaos`): a mixed load through the real API while the worker, the API, the Temporal dev server and FerretDB are killed or restarted under it, then invariants checked against everything the system recorded (test/chaos/).\n');
  }
  const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  const rows = report.figures.map(([name, value]) => `| ${name} | ${value} |`).join('\n');
  appendFileSync(file, `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · commit ${commit} · seed ${report.seed}\n\n` +
    `Command: \`npm run chaos\` (CHAOS_SCALE=full, ${options.scenarios} payments, concurrency ${options.concurrency}) · ` +
    `machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version} · ` +
    `duration ${Math.round(report.durationMs / 1000)} s\n\n| figure | value |\n|---|---|\n${rows}\n`);
}

it(`keeps every invariant while processes die (${options.scenarios} payments, seed ${seed})`, async () => {
  const report = await runChaos({ ...options, log: (line) => process.stderr.write(`${line}\n`) });
  process.stderr.write(`\n${report.figures.map(([name, value]) => `${name.padEnd(66)} ${value}`).join('\n')}\n`);
  if (full && process.env.CHAOS_RECORD !== '0') record(report);
  expect(report.violations).toEqual([]);
}, 3_600_000);
