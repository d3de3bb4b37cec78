import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from '../src/temporal/workflow-bundle';

/**
 * The last step of `npm run build`: bundles workflows/ once, into dist/, so that a worker start loads the bundle
 * instead of running webpack over the workflow code (about 1.5 s of CPU on two cores). That is time every restart
 * after a crash waits before it polls again, and a worker image should run exactly the code it was built with.
 */
async function main(): Promise<void> {
  const started = Date.now();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // The payment's request id on its workflow's log lines and activity headers (workflows/log-context.ts).
    workflowInterceptorModules: [require.resolve('../workflows/log-context')],
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
  mkdirSync(path.dirname(WORKFLOW_BUNDLE_PATH), { recursive: true });
  writeFileSync(WORKFLOW_BUNDLE_PATH, code);
  console.log(
    `workflow bundle: ${path.relative(process.cwd(), WORKFLOW_BUNDLE_PATH)} (${Math.round(code.length / 1024)} KiB, ${Date.now() - started} ms)`,
  );
}

main().catch((err: unknown) => {
  console.error('cannot bundle the workflows:', err instanceof Error ? err.stack : err);
  process.exit(1);
});
