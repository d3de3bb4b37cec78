import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Mode, Session } from './api-types';

export interface SessionState {
  session: Session;
  setSession: (session: Session | null) => void;
}

export const SessionContext = createContext<SessionState | null>(null);

/** The signed-in session; the pages that use it are only rendered once there is one. */
export function useSession(): SessionState {
  const state = useContext(SessionContext);
  if (!state) throw new Error('useSession outside a signed-in page');
  return state;
}

export function isMode(value: string | undefined): value is Mode {
  return value === 'test' || value === 'live';
}

export const MODE_LABELS: Record<Mode, string> = { test: 'Sandbox', live: 'Live' };

export function signInPath(next?: string): string {
  return next && next.startsWith('/dashboard/') && !next.startsWith('/dashboard/sign-in')
    ? `/dashboard/sign-in?next=${encodeURIComponent(next)}`
    : '/dashboard/sign-in';
}

/** The session when there is one, null when signed out. */
export function useOptionalSession(): SessionState | null {
  return useContext(SessionContext);
}
