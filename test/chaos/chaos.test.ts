import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execSync } from 'node:child_process';
import { type ChaosReport, runChaos } from './harness';
import { stackProfileFromEnv } from '../../tools/stack';
import { DEFAULT_PAYMENTS, describeShares, FAULT_LISTS, faultName, planRun, rerunCommand } from './plan';

/**
 * `npm test` runs a reduced chaos round (every kind of fault once, tens of payments); `npm run chaos` runs the
 * full one (CHAOS_SCALE=full: ≥ 1,000 payments, every fault several times) and records its figures in
 * RELIABILITY.md. With SETTLEFLOW_STACK=cluster either runs on the Temporal cluster profile, whose processes
 * (history hosts, matching, frontend, PostgreSQL) are faults of their own. Either way the invariants must hold with zero violations. The seed alone fixes what runs
 * (plan.ts): the command to rerun it is printed at the start and again on failure.
 */
const full = process.env.CHAOS_SCALE === 'full';
const seed = Number(process.env.CHAOS_SEED ?? Date.now() % 2 ** 31);
const payments = process.env.CHAOS_PAYMENTS === undefined ? undefined : Number(process.env.CHAOS_PAYMENTS);

// SETTLEFLOW_STACK=cluster runs the round on the production-shaped Temporal cluster, with its own faults (plan.ts).
const profile = stackProfileFromEnv();
const scale = full ? 'full' : 'reduced';
const plan = planRun(seed, payments ?? DEFAULT_PAYMENTS[profile][scale], FAULT_LISTS[profile][scale], profile);
const concurrency = full ? 10 : 6;
const rerun = rerunCommand(seed, full, payments, profile);

function record(report: ChaosReport): void {
  const file = path.join(__dirname, '..', '..', 'RELIABILITY.md');
  if (!existsSync(file)) {
    writeFileSync(
      file,
      '# Reliability\n\nFigures of full fault-injection runs (`npm run chaos`): a mixed load through the real API while the worker, the API, the Temporal dev server and FerretDB are killed or restarted under it, then invariants checked against everything the system recorded (test/chaos/).\n',
    );
  }
  const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  const rows = report.figures.map(([name, value]) => `| ${name} | ${value} |`).join('\n');
  appendFileSync(
    file,
    `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · commit ${commit} · seed ${report.seed}\n\n` +
      `Command: \`${rerun}\` (CHAOS_SCALE=full, ${profile === 'cluster' ? 'Temporal cluster profile, ' : ''}${plan.scenarios.length} payments (${describeShares(plan)}), concurrency ${concurrency}) · ` +
      `machine: ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version} · ` +
      `duration ${Math.round(report.durationMs / 1000)} s\n\n| figure | value |\n|---|---|\n${rows}\n`,
  );
}

it(`keeps every invariant while processes die (${plan.scenarios.length} payments, seed ${seed}, ${profile} profile)`, async () => {
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(
    `[chaos] seed ${seed}, plan ${plan.fingerprint} (${plan.scenarios.length} payments: ${describeShares(plan)}; faults ${plan.faults.map((f) => `${faultName(f)}@${f.at}`).join(', ')}); rerun: ${rerun}`,
  );
  let report: ChaosReport;
  try {
    report = await runChaos({ plan, concurrency, log: say });
  } catch (err) {
    say(`[chaos] the run itself failed; rerun: ${rerun}`);
    throw err;
  }
  say(`\n${report.figures.map(([name, value]) => `${name.padEnd(66)} ${value}`).join('\n')}\n`);
  if (full && process.env.CHAOS_RECORD !== '0') record(report);
  if (report.violations.length > 0)
    say(
      `[chaos] ${report.violations.length} violation(s) with seed ${seed}, plan ${plan.fingerprint}; rerun: ${rerun}`,
    );
  expect(report.violations).toEqual([]);
}, 3_600_000);
