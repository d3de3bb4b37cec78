/**
 * Every signed-in page: the header (merchant, pages, the sandbox/live switch, the user and sign-out), the orange
 * "Sandbox — test data" bar on every sandbox page, and one <main> whose heading takes the focus after a page change
 * so that a screen reader announces where the user landed.
 */
import type { ComponentChildren } from 'preact';
import { useLocation } from 'preact-iso';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, describeError } from './api';
import type { Mode } from './api-types';
import { MODE_LABELS, useSession } from './session';

const PAGES = [
  { segment: 'payments', label: 'Payments' },
  { segment: 'overview', label: 'Overview' },
  { segment: 'developers', label: 'Developers' },
] as const;

export function Layout({ mode, children }: { mode: Mode; children: ComponentChildren }) {
  const { session, setSession } = useSession();
  const location = useLocation();
  const [error, setError] = useState<string | null>(null);
  const current = location.path.split('/')[3] ?? '';
  const user = session.user;

  const signOut = async (everywhere: boolean) => {
    try {
      if (everywhere) await api('POST', '/session/sign-out-everywhere');
      else await api('DELETE', '/session');
      setSession(null);
      location.route('/dashboard/sign-in');
    } catch (err) {
      setError(describeError(err));
    }
  };

  // The same page in the other mode; a payment's page has no twin there, so its list.
  const switchTo = (target: Mode) => `/dashboard/${target}/${current || 'payments'}`;

  return (
    <>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class={`top mode-${mode}`}>
        {mode === 'test' ? (
          <p class="sandbox-bar">Sandbox — test data</p>
        ) : (
          <p class="live-bar">Live — real payments</p>
        )}
        <nav class="container-fluid" aria-label="Main">
          <ul>
            <li>
              <strong>SettleFlow</strong>
              <span class="merchant">{user.merchantName}</span>
            </li>
          </ul>
          <ul>
            {PAGES.map((page) => (
              <li key={page.segment}>
                <a
                  href={`/dashboard/${mode}/${page.segment}`}
                  aria-current={current === page.segment ? 'page' : undefined}
                >
                  {page.label}
                </a>
              </li>
            ))}
          </ul>
          <ul class="mode-switch" aria-label="Mode">
            {user.modes.map((m) => (
              <li key={m}>
                <a
                  href={switchTo(m)}
                  class={m === mode ? `mode-link active ${m}` : 'mode-link'}
                  aria-current={m === mode ? 'true' : undefined}
                >
                  {MODE_LABELS[m]}
                </a>
              </li>
            ))}
          </ul>
          <ul>
            <li>
              <span class="user">
                {user.email} <small>({user.role})</small>
              </span>
            </li>
            <li>
              <button type="button" class="secondary outline small" onClick={() => void signOut(false)}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main id="main" class="container" tabIndex={-1}>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {children}
      </main>
      <footer class="container">
        <small>
          {user.merchantName} ({user.merchantId}) ·{' '}
          <button type="button" class="link-button" onClick={() => void signOut(true)}>
            Sign out everywhere
          </button>
        </small>
      </footer>
    </>
  );
}

/** The page's <h1>, which also names the browser tab and takes the focus when the page changes. */
export function PageTitle({ children, title }: { children: ComponentChildren; title: string }) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · SettleFlow`;
    heading.current?.focus();
  }, [title]);
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}
