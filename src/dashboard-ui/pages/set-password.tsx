import { useLocation } from 'preact-iso';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { fieldText, SubmitRow, useFormSubmit } from '../forms';
import { PageTitle } from '../layout';

// A hint in the browser only: the server applies its own rule and its message is shown when it refuses.
const MIN_LENGTH = 8;

/**
 * The one-time link of `settleflow user create` ends in `#token=…`: a fragment never reaches a server log or a
 * Referer. The token is read once and removed from the address bar, then spent by POST /dashboard/api/password.
 */
function takeToken(): string {
  const token = new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
  if (window.location.hash) history.replaceState(null, '', window.location.pathname);
  return token;
}

export function SetPasswordPage() {
  const location = useLocation();
  const [token] = useState(takeToken);
  const [done, setDone] = useState(false);
  const { busy, error, onSubmit } = useFormSubmit(
    async (form) => {
      await api('POST', '/password', { token, password: fieldText(form, 'password') }, { quiet401: true });
      setDone(true);
    },
    {
      check: (form) =>
        fieldText(form, 'password') !== fieldText(form, 'confirm') ? 'The two passwords differ.' : null,
    },
  );

  return (
    <main id="main" class="container narrow">
      <article>
        <header>
          <PageTitle title="Set your password">Set your password</PageTitle>
        </header>
        {done ? (
          <>
            <p role="status" class="ok">
              Your password is set.
            </p>
            <button type="button" onClick={() => location.route('/dashboard/sign-in')}>
              Sign in
            </button>
          </>
        ) : !token ? (
          <p role="alert" class="error">
            This link has no token. Open the whole link you were sent, or ask your administrator for a new one.
          </p>
        ) : (
          <form onSubmit={onSubmit}>
            <label>
              New password
              <input
                type="password"
                name="password"
                autocomplete="new-password"
                minLength={MIN_LENGTH}
                required
                aria-describedby="password-rule"
              />
              <small id="password-rule">At least {MIN_LENGTH} characters.</small>
            </label>
            <label>
              Repeat the password
              <input type="password" name="confirm" autocomplete="new-password" minLength={MIN_LENGTH} required />
            </label>
            <SubmitRow busy={busy} error={error}>
              Set password
            </SubmitRow>
          </form>
        )}
      </article>
    </main>
  );
}
