/**
 * The dashboard's shell: the session (read once from GET /dashboard/api/session), the routes of docs/dashboard.md,
 * and the way back to sign-in whenever the server says the session is over.
 */
import type { ComponentChildren } from 'preact';
import { LocationProvider, Route, Router, useLocation } from 'preact-iso';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, rememberSession, whenSessionEnds } from './api';
import type { Mode, Session } from './api-types';
import { Layout } from './layout';
import { DevelopersPage } from './pages/developers';
import { OverviewPage } from './pages/overview';
import { PaymentPage } from './pages/payment';
import { PaymentsPage } from './pages/payments';
import { SetPasswordPage } from './pages/set-password';
import { SignInPage } from './pages/sign-in';
import { isMode, SessionContext, signInPath, useOptionalSession } from './session';

// Links to the JSON API (the CSV export) are ordinary downloads, never routes of the app.
const APP_LINKS = /^\/dashboard(\/(?!api\/)|$)/;

export function App() {
  return (
    <LocationProvider scope={APP_LINKS}>
      <Shell />
    </LocationProvider>
  );
}

function Shell() {
  const location = useLocation();
  // undefined while the first GET /session is on its way, null when signed out.
  const [session, setSessionState] = useState<Session | null | undefined>(undefined);
  const setSession = (next: Session | null) => {
    rememberSession(next);
    setSessionState(next);
  };

  useEffect(() => {
    api<Session>('GET', '/session', undefined, { quiet401: true }).then(setSession, () => setSession(null));
  }, []);

  useEffect(() => {
    whenSessionEnds(() => {
      setSessionState(null);
      const here = window.location.pathname + window.location.search;
      if (!here.startsWith('/dashboard/sign-in')) location.route(signInPath(here), true);
    });
  }, [location]);

  const state = useMemo(() => (session ? { session, setSession } : null), [session]);

  if (session === undefined)
    return (
      <main class="container" aria-busy="true">
        <p>Loading the dashboard…</p>
      </main>
    );

  return (
    <SessionContext.Provider value={state}>
      <Router>
        <Route path="/dashboard/sign-in" component={SignInPage} onSignedIn={setSession} />
        <Route path="/dashboard/set-password" component={SetPasswordPage} />
        <Route path="/dashboard/:mode/payments" component={Payments} />
        <Route path="/dashboard/:mode/payments/:tid" component={Payment} />
        <Route path="/dashboard/:mode/overview" component={Overview} />
        <Route path="/dashboard/:mode/developers" component={Developers} />
        <Route default component={Home} />
      </Router>
    </SessionContext.Provider>
  );
}

interface RouteParams {
  params: Record<string, string>;
}

const Payments = ({ params }: RouteParams) => <Guard params={params} page={(mode) => <PaymentsPage mode={mode} />} />;
const Payment = ({ params }: RouteParams) => (
  <Guard params={params} page={(mode) => <PaymentPage mode={mode} tid={params.tid ?? ''} />} />
);
const Overview = ({ params }: RouteParams) => <Guard params={params} page={(mode) => <OverviewPage mode={mode} />} />;
const Developers = ({ params }: RouteParams) => (
  <Guard params={params} page={(mode) => <DevelopersPage mode={mode} />} />
);

/** A page that needs a session and a mode the user may see: otherwise sign-in, or a page saying why not. */
function Guard({ params, page }: { params: Record<string, string>; page: (mode: Mode) => ComponentChildren }) {
  const location = useLocation();
  const state = useOptionalSession();
  const mode = params.mode;
  useEffect(() => {
    if (!state) location.route(signInPath(location.url), true);
  }, [state, location]);
  if (!state) return null;
  if (!isMode(mode) || !state.session.user.modes.includes(mode))
    return (
      <Layout mode={state.session.user.modes[0] ?? 'test'}>
        <h1>Not available</h1>
        <p>This page does not exist, or your account cannot see this mode.</p>
      </Layout>
    );
  return <Layout mode={mode}>{page(mode)}</Layout>;
}

function Home() {
  const location = useLocation();
  const state = useOptionalSession();
  useEffect(() => {
    if (!state) location.route(signInPath(), true);
    else if (location.path === '/dashboard' || location.path === '/dashboard/')
      location.route(`/dashboard/${state.session.user.modes[0] ?? 'test'}/payments`, true);
  }, [state, location]);
  if (!state || location.path === '/dashboard' || location.path === '/dashboard/') return null;
  return (
    <Layout mode={state.session.user.modes[0] ?? 'test'}>
      <h1>Page not found</h1>
      <p>
        <a href={`/dashboard/${state.session.user.modes[0] ?? 'test'}/payments`}>Go to the payments</a>
      </p>
    </Layout>
  );
}
