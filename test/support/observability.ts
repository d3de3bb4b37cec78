import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse as parseYaml } from 'yaml';

/** The rules, their unit tests, the scrape configuration and the dashboard (docs/metrics.md, "Alerts and dashboard"). */
export const observabilityDir = path.resolve(__dirname, '..', '..', 'deploy', 'observability');
export const rulesFile = path.join(observabilityDir, 'alerts.yml');
export const rulesTestFile = path.join(observabilityDir, 'alerts.test.yml');
export const scrapeConfigFile = path.join(observabilityDir, 'prometheus.yml');
export const dashboardFile = path.join(observabilityDir, 'grafana-dashboard.json');

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface RuleGroup {
  name: string;
  interval?: string;
  rules: Rule[];
}

export function readRuleGroups(file = rulesFile): RuleGroup[] {
  return (parseYaml(readFileSync(file, 'utf8')) as { groups: RuleGroup[] }).groups;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: { refId: string; expr: string }[];
}

export function readDashboard(): { uid: string; title: string; panels: DashboardPanel[] } {
  return JSON.parse(readFileSync(dashboardFile, 'utf8')) as { uid: string; title: string; panels: DashboardPanel[] };
}

/**
 * Grafana fills these in before a query reaches Prometheus: the values a 15 s scrape interval gives, so that a
 * dashboard query can be parsed, or run against a Prometheus server, as Grafana would send it.
 */
export function withGrafanaVariables(expr: string): string {
  return expr.replaceAll('$__rate_interval', '1m').replaceAll('$__interval', '15s').replaceAll('$__range', '1h');
}

/** Every PromQL query of the dashboard, as Grafana sends it, with where it comes from. */
export function dashboardQueries(): { panel: string; expr: string }[] {
  return readDashboard().panels.flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: `${panel.title} (${target.refId})`,
      expr: withGrafanaVariables(target.expr),
    })),
  );
}

/**
 * The metric names a PromQL expression selects, read from its syntax tree (Prometheus's own PromQL grammar), and
 * any syntax error in it. Throws nothing: an expression that does not parse comes back with its errors.
 */
export function selectedMetrics(expr: string): { metrics: string[]; errors: number[] } {
  const metrics = new Set<string>();
  const errors: number[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        metrics.add(expr.slice(node.from, node.to));
    },
  });
  return { metrics: [...metrics], errors };
}

/**
 * The spans of a captured sandbox payment with a CallbackUrl that are exported as soon as they end (docs/tracing.md,
 * "What a payment's trace holds"): all but the workflow's own, which ends with the refund window.
 */
export const PAYMENT_SPANS_EXPORTED_AT_ONCE = [
  /^POST \/v1\/payment\/direct$/,
  /^UpdateWithStartWorkflow:/,
  /^StartActivity:authorizePayment$/,
  /^RunActivity:authorizePayment$/,
  /^processor authorize$/,
  /^RunActivity:capturePayment$/,
  /^processor capture$/,
  /^RunActivity:deliverWebhook$/,
  /^webhook deliver$/,
];

/** The payment workflow's span, exported when the workflow closes. */
export const RUN_WORKFLOW_SPAN = /^RunWorkflow:paymentWorkflowV2$/;
