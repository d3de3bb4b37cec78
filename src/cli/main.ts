#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config';
import { registerAccountCommands } from './accounts';
import { registerOpsCommands } from './ops';
import { registerPlatformCommands } from './platform';
import { registerUserCommands } from './users';
import { registerVaultCommands } from './vault';
import { registerWebhookCommands } from './webhooks';

/**
 * `settleflow`, the operator's command. It talks to the same MongoDB and Temporal as the API (same config,
 * same environment variables), and prints JSON with `--json` for scripts.
 */
export function buildProgram(): Command {
  const program = new Command('settleflow').description('SettleFlow admin command').showHelpAfterError();
  registerAccountCommands(program);
  registerWebhookCommands(program);
  registerPlatformCommands(program);
  registerOpsCommands(program);
  registerVaultCommands(program);
  registerUserCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      console.error(
        err instanceof ConfigError ? err.message : `settleflow: ${err instanceof Error ? err.message : String(err)}`,
      );
      process.exit(1);
    });
}
