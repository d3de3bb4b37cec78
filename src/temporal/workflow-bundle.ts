import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../paths';

/** Where `npm run build` writes the workflow bundle (tools/bundle-workflows.ts) that workers load. */
export const WORKFLOW_BUNDLE_PATH = path.join(projectRoot, 'dist', 'workflow-bundle.js');

/** The worker's `workflowBundle` option; a missing bundle is a build that did not finish, said plainly. */
export function workflowBundle(): { codePath: string } {
  if (!existsSync(WORKFLOW_BUNDLE_PATH))
    throw new Error(`${WORKFLOW_BUNDLE_PATH} is missing: run \`npm run build\` first`);
  return { codePath: WORKFLOW_BUNDLE_PATH };
}
