import { useLocation } from 'preact-iso';
import { useEffect } from 'preact/hooks';
import { api, ApiError, describeError } from '../api';
import type { Session } from '../api-types';
import { fieldText, SubmitRow, useFormSubmit } from '../forms';
import { PageTitle } from '../layout';
import { useOptionalSession } from '../session';

/**
 * Email and password. The server answers a wrong password and an unknown email alike, locks an account after
 * repeated failures and throttles an address (docs/dashboard.md, "Security"); the page only says which happened.
 */
export function SignInPage({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const location = useLocation();
  const signedIn = useOptionalSession();
  useEffect(() => {
    // Signed in (just now, or already when a bookmark or Back led here): on to the page asked for, or the payments.
    if (!signedIn) return;
    const next = location.query.next;
    const safeNext = next && next.startsWith('/dashboard/') && !next.startsWith('/dashboard/api/') ? next : null;
    location.route(safeNext ?? `/dashboard/${signedIn.session.user.modes[0] ?? 'test'}/payments`, true);
  }, [signedIn, location]);

  const { busy, error, onSubmit } = useFormSubmit(
    async (form) => {
      const session = await api<Session>(
        'POST',
        '/session',
        { email: fieldText(form, 'email'), password: fieldText(form, 'password') },
        { quiet401: true },
      );
      onSignedIn(session);
    },
    {
      describe: (err) =>
        err instanceof ApiError && (err.status === 401 || err.status === 400)
          ? 'Wrong email or password.'
          : describeError(err),
    },
  );

  return (
    <main id="main" class="container narrow">
      <article>
        <header>
          <PageTitle title="Sign in">Sign in to the SettleFlow dashboard</PageTitle>
        </header>
        <form onSubmit={onSubmit}>
          <label>
            Email
            <input type="email" name="email" autocomplete="username" required />
          </label>
          <label>
            Password
            <input type="password" name="password" autocomplete="current-password" required />
          </label>
          <SubmitRow busy={busy} error={error}>
            Sign in
          </SubmitRow>
        </form>
        <footer>
          <small>
            No password yet? Use the one-time link you were sent. Lost it? Ask your administrator for a new one.
          </small>
        </footer>
      </article>
    </main>
  );
}
