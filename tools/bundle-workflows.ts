import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import {
  TRACED_WORKFLOW_BUNDLE_PATH,
  TRACING_WORKFLOW_INTERCEPTOR_MODULES,
  WORKFLOW_BUNDLE_PATH,
  WORKFLOW_INTERCEPTOR_MODULES,
} from '../src/temporal/workflow-bundle';

/**
 * The last step of `npm run build`: bundles workflows/ into dist/, so that a worker start loads the bundle
 * instead of running webpack over the workflow code (about 1.5 s of CPU on two cores). That is time every restart
 * after a crash waits before it polls again, and a worker image should run exactly the code it was built with.
 * Two bundles: the plain one, and the one with the tracing interceptors (docs/tracing.md).
 */

/** Bundles the workflows with `interceptorModules` (the payment's request id on its logs…) into `output`. */
async function bundle(output: string, interceptorModules: string[]): Promise<void> {
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    workflowInterceptorModules: interceptorModules,
    // webpack's progress lines are noise in a build log; problems still fail the build.
    logger: {
      trace() {},
      debug() {},
      info() {},
      log() {},
      warn: (message) => console.warn(message),
      error: (message) => console.error(message),
    },
  });
  mkdirSync(path.dirname(output), { recursive: true });
  writeFileSync(output, code);
  console.log(
    `workflow bundle: ${path.relative(process.cwd(), output)} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`,
  );
}

/** The plain bundle, and the one a worker that traces loads (src/temporal/workflow-bundle.ts, docs/tracing.md). */
async function main(): Promise<void> {
  await bundle(WORKFLOW_BUNDLE_PATH, WORKFLOW_INTERCEPTOR_MODULES);
  await bundle(TRACED_WORKFLOW_BUNDLE_PATH, [...WORKFLOW_INTERCEPTOR_MODULES, ...TRACING_WORKFLOW_INTERCEPTOR_MODULES]);
}

main().catch((err: unknown) => {
  console.error('cannot bundle the workflows:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
