import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { ensureNamespace, ensureSearchAttributes } from '../temporal/setup';
import type { selfCheckWorkflow } from '../../workflows/self-check-workflow';
import { print, withTemporal } from './shared';

/** `setup` and `doctor`: preparing a Temporal cluster and proving the chain works. */
export function registerPlatformCommands(program: Command): void {
  program
    .command('setup')
    .description('create the Temporal namespace and register the search attributes (idempotent)')
    .action(() =>
      withTemporal(async ({ connection }, config) => {
        await ensureNamespace(connection, config.temporal.namespace);
        const added = await ensureSearchAttributes(connection, config.temporal.namespace);
        console.log(
          `namespace ${config.temporal.namespace} ready; search attributes added: ${added.join(', ') || 'none (all present)'}`,
        );
      }),
    );

  program
    .command('doctor')
    .description('prove the chain end to end: Temporal → worker → activity → MongoDB')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) =>
      withTemporal(async ({ client }, config) => {
        const checkId = `doctor-${randomUUID()}`;
        const started = Date.now();
        const result = await client.workflow.execute<typeof selfCheckWorkflow>('selfCheckWorkflow', {
          taskQueue: config.temporal.taskQueue,
          workflowId: `self-check-${checkId}`,
          args: [{ checkId }],
          workflowExecutionTimeout: '30s',
        });
        const elapsed = Date.now() - started;
        print(
          !!opts.json,
          { ok: true, ...result, ms: elapsed },
          `ok: worker ${result.worker} wrote ${checkId} in ${elapsed} ms`,
        );
      }),
    );
}
