import { randomBytes } from 'node:crypto';
import type { Db } from 'mongodb';
import { constantTimeEqual, sha256Hex } from '../crypto';
import { dashboardSessions, type DashboardSessionDoc } from '../store/dashboard-sessions';
import { type DashboardUserDoc, dashboardUsers, findDashboardUser } from '../store/dashboard-users';

/**
 * Dashboard sessions (docs/dashboard-api.md, "Sessions"): a random token in an HttpOnly cookie, stored as its SHA-256;
 * over after 30 idle minutes or 12 hours whatever happens; a new one minted at every sign-in (a token held before
 * sign-in is never promoted, so a planted cookie fixes nothing); a CSRF token of its own.
 */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 3600_000;
/** The idle clock is moved at most this often: one write a minute per active session, not one per request. */
const TOUCH_EVERY_MS = 60_000;

export interface ActiveSession {
  session: DashboardSessionDoc;
  user: DashboardUserDoc;
}

export async function createSession(db: Db, user: DashboardUserDoc): Promise<{ token: string; csrfToken: string }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const now = new Date();
  await dashboardSessions(db).insertOne({
    _id: sha256Hex(token),
    userId: user._id,
    merchantId: user.merchantId,
    csrfToken,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: new Date(now.getTime() + SESSION_ABSOLUTE_MS),
  });
  return { token, csrfToken };
}

/**
 * The session a cookie's token opens, and its user; undefined when there is none, it is over, or its user was
 * disabled or signed out everywhere since. Two `_id` reads. An expired session is deleted when seen: FerretDB
 * has no TTL index to do it.
 */
export async function resolveSession(db: Db, token: string | undefined): Promise<ActiveSession | undefined> {
  if (!token || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
  const id = sha256Hex(token);
  const session = await dashboardSessions(db).findOne({ _id: id });
  if (!session) return undefined;
  const now = Date.now();
  if (session.expiresAt.getTime() <= now || session.lastSeenAt.getTime() + SESSION_IDLE_MS <= now) {
    await dashboardSessions(db).deleteOne({ _id: id });
    return undefined;
  }
  const user = await findDashboardUser(db, session.userId);
  if (
    !user ||
    user.disabledAt ||
    user.merchantId !== session.merchantId ||
    (user.sessionsNotBefore && session.createdAt.getTime() < user.sessionsNotBefore.getTime())
  ) {
    await dashboardSessions(db).deleteOne({ _id: id });
    return undefined;
  }
  if (now - session.lastSeenAt.getTime() >= TOUCH_EVERY_MS) {
    await dashboardSessions(db).updateOne({ _id: id }, { $set: { lastSeenAt: new Date(now) } });
  }
  return { session, user };
}

export async function endSession(db: Db, session: DashboardSessionDoc): Promise<void> {
  await dashboardSessions(db).deleteOne({ _id: session._id });
}

/**
 * Ends every session of the user: sessions are keyed by token hash, with no per-user index to find them by, so the
 * user's `sessionsNotBefore` moves to now and every older session is refused (and deleted) when next presented.
 */
export async function endAllSessions(db: Db, session: DashboardSessionDoc): Promise<void> {
  await dashboardUsers(db).updateOne({ _id: session.userId }, { $set: { sessionsNotBefore: new Date() } });
  await endSession(db, session);
}

export function csrfMatches(session: DashboardSessionDoc, presented: string | undefined): boolean {
  return typeof presented === 'string' && presented !== '' && constantTimeEqual(presented, session.csrfToken);
}

/**
 * Deletes the sessions that are over (idle or past their absolute end) and were never presented again, which
 * resolveSession cannot see. Run by the worker's housekeeping: a scan, which FerretDB cannot index, over a
 * collection that holds at most the last 12 hours' sign-ins, and never on a request's path.
 */
export async function sweepEndedSessions(db: Db, now = Date.now()): Promise<number> {
  const result = await dashboardSessions(db).deleteMany({
    $or: [{ expiresAt: { $lte: new Date(now) } }, { lastSeenAt: { $lte: new Date(now - SESSION_IDLE_MS) } }],
  });
  return result.deletedCount;
}
