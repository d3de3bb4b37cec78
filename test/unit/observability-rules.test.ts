import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureBinary, promtoolSpec } from '../../tools/binaries';
import {
  dashboardQueries,
  readDashboard,
  readRuleGroups,
  rulesFile,
  rulesTestFile,
  scrapeConfigFile,
  selectedMetrics,
} from '../support/observability';

/**
 * The rules, dashboard and scrape configuration of deploy/observability, checked without a stack: Prometheus's own
 * promtool checks the rules and the configuration and runs the alerts' unit tests (alerts.test.yml); every alert
 * links its section of docs/runbook.md and is tested both ways; every metric the rules and the dashboard read is
 * one docs/metrics.md documents, so that a renamed metric cannot leave an alert silently watching nothing.
 */

const root = path.resolve(__dirname, '..', '..');
const metricsDoc = readFileSync(path.join(root, 'docs', 'metrics.md'), 'utf8');
const groups = readRuleGroups();
const alerts = groups.flatMap((group) => group.rules.filter((rule) => rule.alert !== undefined));
const recorded = new Set(groups.flatMap((group) => group.rules.flatMap((rule) => (rule.record ? [rule.record] : []))));

describe('promtool', () => {
  let promtool: string;
  beforeAll(async () => {
    // Built from the Go module proxy on first use (minutes), then cached: `npm run servers:build` builds it too.
    promtool = await ensureBinary(promtoolSpec, (line) => process.stderr.write(`${line}\n`));
  }, 1_800_000);

  function runPromtool(...args: string[]): { status: number | null; output: string } {
    const result = spawnSync(promtool, args, { encoding: 'utf8', timeout: 120_000 });
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  }

  it('finds the rules valid, lint included', () => {
    const result = runPromtool('check', 'rules', '--lint=all', '--lint-fatal', rulesFile);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('finds the example scrape configuration valid, with the rules it loads', () => {
    const result = runPromtool('check', 'config', '--lint=all', '--lint-fatal', scrapeConfigFile);
    expect(result.output).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it("finds the compose file's scrape configuration valid, with the rules mounted beside it", () => {
    // In the container the rules are mounted next to the configuration (deploy/compose/docker-compose.yml).
    const dir = mkdtempSync(path.join(os.tmpdir(), 'settleflow-prometheus-'));
    try {
      copyFileSync(path.join(root, 'deploy', 'compose', 'prometheus.yml'), path.join(dir, 'prometheus.yml'));
      copyFileSync(rulesFile, path.join(dir, 'alerts.yml'));
      const result = runPromtool('check', 'config', '--lint=all', '--lint-fatal', path.join(dir, 'prometheus.yml'));
      expect(result.output).toContain('SUCCESS');
      expect(result.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("passes the alerts' unit tests: each outage fires its alert, each normal series does not", () => {
    const result = runPromtool('test', 'rules', rulesTestFile);
    if (result.status !== 0) throw new Error(`promtool test rules failed:\n${result.output}`);
    expect(result.output).toContain('SUCCESS');
  }, 120_000);
});

describe('alerts', () => {
  const runbook = readFileSync(path.join(root, 'docs', 'runbook.md'), 'utf8');
  /** The anchors GitHub gives the runbook's headings: lower case, punctuation dropped, spaces to hyphens. */
  const anchors = new Set(
    [...runbook.matchAll(/^#{1,6} +(.+)$/gm)].map(([, heading]) =>
      heading!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    ),
  );

  it('are there', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(7);
  });

  it.each(alerts.map((rule) => [rule.alert!, rule] as const))(
    '%s has a severity, a summary and a runbook section',
    (name, rule) => {
      expect(['critical', 'warning']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toBeTruthy();
      const url = rule.annotations?.runbook_url ?? '';
      const anchor = /^docs\/runbook\.md#([a-z0-9_-]+)$/.exec(url)?.[1];
      expect({ name, url, anchor }).toEqual({ name, url, anchor: name.toLowerCase() });
      expect(anchors.has(anchor!)).toBe(true);
    },
  );

  it('each have a unit test that fires them and one where they stay quiet', () => {
    const tests = (
      parseYaml(readFileSync(rulesTestFile, 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      }
    ).tests.flatMap((test) => test.alert_rule_test ?? []);
    for (const rule of alerts) {
      const own = tests.filter((test) => test.alertname === rule.alert);
      expect({ alert: rule.alert, fires: own.some((test) => (test.exp_alerts ?? []).length > 0) }).toEqual({
        alert: rule.alert,
        fires: true,
      });
      expect({ alert: rule.alert, quiet: own.some((test) => (test.exp_alerts ?? []).length === 0) }).toEqual({
        alert: rule.alert,
        quiet: true,
      });
    }
  });
});

describe('metric names', () => {
  /** Every name docs/metrics.md writes as code (`settleflow_…`, `temporal_…`, `up`, …). */
  const documented = new Set(
    [...metricsDoc.matchAll(/`([a-zA-Z_][a-zA-Z0-9_]*)`/g)]
      .map(([, name]) => name!)
      .filter((name) => name.includes('_') || name === 'up'),
  );
  /** A histogram's series are its name plus `_bucket`, `_count` and `_sum`. */
  const isDocumented = (name: string) =>
    documented.has(name) || documented.has(name.replace(/_(bucket|count|sum)$/, '')) || recorded.has(name);

  const expressions = [
    ...groups.flatMap((group) =>
      group.rules.map((rule) => ({ where: `alerts.yml ${rule.alert ?? rule.record}`, expr: rule.expr })),
    ),
    ...dashboardQueries().map(({ panel, expr }) => ({ where: `dashboard: ${panel}`, expr })),
  ];

  it.each(expressions.map((e) => [e.where, e.expr] as const))(
    '%s parses and reads documented metrics only',
    (where, expr) => {
      const { metrics, errors } = selectedMetrics(expr);
      expect({ where, errors }).toEqual({ where, errors: [] });
      expect(metrics.length).toBeGreaterThan(0);
      expect({ where, undocumented: metrics.filter((name) => !isDocumented(name)) }).toEqual({
        where,
        undocumented: [],
      });
    },
  );

  it('recorded series are defined before an alert or the dashboard reads them', () => {
    const used = new Set(expressions.flatMap(({ expr }) => selectedMetrics(expr).metrics));
    for (const name of used)
      if (name.includes(':')) expect({ name, recorded: recorded.has(name) }).toEqual({ name, recorded: true });
  });

  it('the metric names of the rules follow the exporters: prom-client and the SDK', () => {
    // A sanity check of the documented-names list itself, so that the test above cannot pass on an empty list.
    expect(documented.has('settleflow_payments_final_total')).toBe(true);
    expect(documented.has('temporal_workflow_task_execution_failed_total')).toBe(true);
  });
});

describe('dashboard', () => {
  const dashboard = readDashboard();

  it('is a Grafana dashboard with unique panel ids, every graph on the Prometheus data source variable', () => {
    expect(dashboard.uid).toBe('settleflow-overview');
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(graphs.length).toBeGreaterThan(15);
    for (const panel of graphs) {
      expect({ panel: panel.title, datasource: panel.datasource }).toEqual({
        panel: panel.title,
        datasource: { type: 'prometheus', uid: '${datasource}' },
      });
      expect(panel.targets?.length).toBeGreaterThan(0);
    }
  });

  it('shows every figure of docs/metrics.md', () => {
    const shown = new Set(dashboardQueries().flatMap(({ expr }) => selectedMetrics(expr).metrics));
    const histogramBase = (name: string) => name.replace(/_(bucket|count|sum)$/, '');
    const shownBases = new Set([...shown].map(histogramBase));
    const figures = [...metricsDoc.matchAll(/^\| `(settleflow_[a-z0-9_]+)` \|/gm)].map(([, name]) => name!);
    expect(figures.length).toBeGreaterThan(15);
    // The store-read errors are the metrics' own health, not a figure of the gateway.
    const missing = figures.filter(
      (name) => !shownBases.has(name) && name !== 'settleflow_metrics_store_read_errors_total',
    );
    expect(missing).toEqual([]);
  });
});
