import { type Command, Option } from 'commander';
import {
  createDashboardUser,
  disableDashboardUser,
  issuePasswordLink,
  listDashboardUsers,
  setPassword,
} from '../auth/dashboard-users';
import { findDashboardUser } from '../store/dashboard-users';
import { readSecretText } from './secret-input';
import { print, withMongo } from './shared';

/** The password from stdin (typed without echo at a terminal): one line, its line ending dropped. */
async function passwordFromStdin(): Promise<string> {
  const text = await readSecretText({ prompts: ['new password: '] });
  return text.replace(/\r?\n$/, '');
}

/**
 * `user create|list|disable|link`: dashboard users (docs/dashboard-api.md). A password never comes from the arguments:
 * either the user sets it through the one-time link printed here (24 h, single use), or the operator pipes it in
 * with `--password-stdin`.
 */
export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('dashboard users of a merchant');

  user
    .command('create')
    .description('create a dashboard user; prints a one-time set-password link (or reads the password from stdin)')
    .requiredOption('--merchant <merchantId>', 'the merchant the user belongs to')
    .requiredOption('--email <email>', 'the sign-in email')
    .addOption(
      new Option('--role <role>', 'admin (refunds, keys) or viewer').choices(['admin', 'viewer']).default('admin'),
    )
    .option('--password-stdin', 'read the password from stdin instead of printing a link')
    .option('--json', 'machine-readable output')
    .action(
      async (opts: {
        merchant: string;
        email: string;
        role: 'admin' | 'viewer';
        passwordStdin?: boolean;
        json?: boolean;
      }) => {
        // Read before connecting: a bad password then leaves no half-made user behind.
        const password = opts.passwordStdin ? await passwordFromStdin() : undefined;
        const done = await withMongo(async ({ db }, config) => {
          const created = await createDashboardUser(db, {
            merchantId: opts.merchant,
            email: opts.email,
            role: opts.role,
          });
          if (password !== undefined) {
            await setPassword(db, created._id, password);
            return { email: created._id, link: null };
          }
          return { email: created._id, link: await issuePasswordLink(db, config, created._id) };
        });
        print(
          !!opts.json,
          { email: done.email, merchantId: opts.merchant, role: opts.role, setPasswordLink: done.link },
          done.link
            ? `user ${done.email} (${opts.role}) created.\nSet-password link (one use, 24 h), give it to the user only:\n  ${done.link}`
            : `user ${done.email} (${opts.role}) created, password set.`,
        );
      },
    );

  user
    .command('link <email>')
    .description('a new one-time set-password link for an existing user (24 h, single use)')
    .option('--json', 'machine-readable output')
    .action(async (email: string, opts: { json?: boolean }) => {
      const link = await withMongo(async ({ db }, config) => {
        const found = await findDashboardUser(db, email);
        if (!found || found.disabledAt) throw new Error(`no active user ${email}`);
        return issuePasswordLink(db, config, found._id);
      });
      print(!!opts.json, { email: email.toLowerCase(), setPasswordLink: link }, link);
    });

  user
    .command('list')
    .description("a merchant's dashboard users")
    .requiredOption('--merchant <merchantId>', 'the merchant')
    .option('--json', 'machine-readable output')
    .action(async (opts: { merchant: string; json?: boolean }) => {
      const users = await withMongo(({ db }) => listDashboardUsers(db, opts.merchant));
      const rows = users.map((u) => ({
        email: u._id,
        role: u.role,
        passwordSet: u.passwordHash !== null,
        disabled: !!u.disabledAt,
        lockedUntil: u.lockedUntil && u.lockedUntil.getTime() > Date.now() ? u.lockedUntil.toISOString() : null,
        createdAt: u.createdAt.toISOString(),
      }));
      print(
        !!opts.json,
        { users: rows },
        rows.length === 0
          ? `no dashboard user for ${opts.merchant}`
          : rows
              .map(
                (r) =>
                  `${r.email}  ${r.role}${r.disabled ? '  disabled' : ''}${r.passwordSet ? '' : '  (no password yet)'}${r.lockedUntil ? `  locked until ${r.lockedUntil}` : ''}`,
              )
              .join('\n'),
      );
    });

  user
    .command('disable <email>')
    .description('disable a user: no sign-in, every session ends')
    .option('--json', 'machine-readable output')
    .action(async (email: string, opts: { json?: boolean }) => {
      const found = await withMongo(({ db }) => disableDashboardUser(db, email));
      if (!found) throw new Error(`no user ${email}`);
      print(!!opts.json, { email: email.toLowerCase(), disabled: true }, `${email.toLowerCase()} disabled`);
    });
}
