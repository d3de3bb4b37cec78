import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths';

/** Where `npm run build` writes the workflow bundle (tools/bundle-workflows.ts) that workers load. */
export const WORKFLOW_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle.js');

/**
 * The same workflows with Temporal's OpenTelemetry workflow interceptors added (docs/tracing.md): loaded by a
 * worker that traces. A second bundle rather than interceptors that check at run time, so that a worker with
 * tracing off runs exactly the workflow code it ran before tracing existed, at no cost per workflow task.
 */
export const TRACED_WORKFLOW_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle-traced.js');

/** The interceptor modules of every bundle: the payment's request id on its log lines (workflows/log-context.ts). */
export const WORKFLOW_INTERCEPTOR_MODULES = [require.resolve('../../workflows/log-context')];

/** Added to the traced bundle: spans for the workflow run, its update handlers and each activity it schedules. */
export const TRACING_WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors'),
];

/** The worker's `workflowBundle` option; a missing bundle is a build that did not finish, said plainly. */
export function workflowBundle(traced = false): { codePath: string } {
  const codePath = traced ? TRACED_WORKFLOW_BUNDLE_PATH : WORKFLOW_BUNDLE_PATH;
  if (!existsSync(codePath)) throw new Error(`${codePath} is missing: run \`npm run build\` first`);
  return { codePath };
}
