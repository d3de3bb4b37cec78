import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify as toYaml } from 'yaml';
import { loadConfig } from '../../src/config';
import { ensureBinary, prometheusSpec } from '../../tools/binaries';
import { freePort } from '../../tools/ports';
import { type ManagedProcess, startProcess, waitUntilReady } from '../../tools/process';
import { dashboardQueries, readRuleGroups } from '../support/observability';

/**
 * Issue 18, item 3 (docs/metrics.md, "Alerts and dashboard"): a real Prometheus, built from its Go module, scrapes
 * every process of the shared test stack under the job names of deploy/observability/prometheus.yml with
 * alerts.yml loaded. Every target must be up, every rule must evaluate without error, and every dashboard query
 * must run. The rules' groups evaluate every second here instead of every minute, so that the test sees them run.
 */

interface Target {
  scrapeUrl: string;
  labels: { job: string };
  health: string;
  lastError: string;
}
interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  type: 'alerting' | 'recording';
  state?: string;
}
interface GroupState {
  name: string;
  lastEvaluation: string;
  rules: RuleState[];
}

const targets = JSON.parse(process.env.SETTLEFLOW_TEST_METRICS_TARGETS ?? '{}') as Record<string, string[]>;
let prometheus: ManagedProcess | undefined;
let baseUrl: string;
let dir: string;

async function api<T>(query: string): Promise<T> {
  const res = await fetch(`${baseUrl}/api/v1/${query}`);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`Prometheus ${query}: ${body.error ?? res.status}`);
  return body.data;
}

/** Polls until `check` passes (it throws while not), or throws its last error after `ms`. */
async function eventually<T>(check: () => Promise<T>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

beforeAll(async () => {
  const binary = await ensureBinary(prometheusSpec, (line) => process.stderr.write(`${line}\n`));
  dir = path.join(loadConfig(process.env).dataDir, `prometheus-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const groups = readRuleGroups().map((group) => ({ ...group, interval: '1s' }));
  writeFileSync(path.join(dir, 'alerts.yml'), toYaml({ groups }));
  const scrapeConfigs = Object.entries(targets).map(([job, urls]) => ({
    job_name: job,
    scrape_interval: '1s',
    scrape_timeout: '1s',
    static_configs: [{ targets: urls.map((url) => new URL(url).host) }],
  }));
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    toYaml({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: ['alerts.yml'],
      scrape_configs: scrapeConfigs,
    }),
  );

  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  prometheus = startProcess(
    'prometheus',
    binary,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { logDir: dir },
  );
  await waitUntilReady(
    prometheus,
    'prometheus',
    async () => (await fetch(`${baseUrl}/-/ready`).catch(() => undefined))?.status === 200,
    20_000,
  );
}, 1_800_000);

afterAll(async () => {
  await prometheus?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('has every process of the stack to scrape', () => {
  expect(targets['settleflow-api']?.length).toBeGreaterThan(0);
  expect(targets['settleflow-worker']?.length).toBeGreaterThan(0);
  expect(targets['settleflow-worker-sdk']?.length).toBeGreaterThan(0);
  expect(targets.temporal?.length).toBeGreaterThan(0);
});

it('scrapes every target, with the rules evaluating without error', async () => {
  const expected = Object.values(targets).flat().length;
  const up = await eventually(async () => {
    const { activeTargets } = await api<{ activeTargets: Target[] }>('targets?state=active');
    const down = activeTargets.filter((target) => target.health !== 'up');
    if (activeTargets.length !== expected || down.length > 0)
      throw new Error(
        `targets not all up: ${JSON.stringify(activeTargets.map((t) => [t.labels.job, t.scrapeUrl, t.health, t.lastError]))}`,
      );
    return activeTargets;
  }, 15_000);
  expect(up.map((target) => target.labels.job).sort()).toEqual(
    Object.entries(targets)
      .flatMap(([job, urls]) => urls.map(() => job))
      .sort(),
  );

  // Two evaluations after every target was up: each rule has run on scraped data.
  const started = Date.now();
  const groups = await eventually(async () => {
    const data = await api<{ groups: GroupState[] }>('rules');
    const stale = data.groups.filter((group) => Date.parse(group.lastEvaluation) < started + 1_000);
    if (stale.length > 0)
      throw new Error(`groups not evaluated since the targets were up: ${stale.map((g) => g.name).join(', ')}`);
    return data.groups;
  }, 10_000);
  const rules = groups.flatMap((group) => group.rules);
  expect(rules.length).toBe(readRuleGroups().flatMap((group) => group.rules).length);
  expect(rules.filter((rule) => rule.health !== 'ok').map((rule) => [rule.name, rule.health, rule.lastError])).toEqual(
    [],
  );
  // Every worker is up: the page that says none is must not be on its way.
  const absent = rules.find((rule) => rule.name === 'SettleFlowWorkerAbsent');
  expect(absent?.state).toBe('inactive');

  // The scraped series are the ones the rules read: the store-backed gauges of the worker and the SDK's pollers.
  const vault = await api<{ result: unknown[] }>('query?query=' + encodeURIComponent('max(settleflow_vault_entries)'));
  expect(vault.result).toHaveLength(1);
  const sdk = await api<{ result: unknown[] }>(
    'query?query=' + encodeURIComponent('count({job="settleflow-worker-sdk", __name__=~"temporal_.+"})'),
  );
  expect(sdk.result).toHaveLength(1);
}, 40_000);

it('runs every query of the dashboard', async () => {
  for (const { panel, expr } of dashboardQueries()) {
    const result = await api<{ resultType: string }>(`query?query=${encodeURIComponent(expr)}`).catch(
      (err: Error) => err,
    );
    expect({ panel, error: result instanceof Error ? result.message : undefined }).toEqual({ panel, error: undefined });
  }
});
