import type { Db } from 'mongodb';

/**
 * A dashboard session, keyed by the SHA-256 of the random token its cookie holds: a copy of this collection opens
 * no session. Read by `_id` on every dashboard request.
 */
export interface DashboardSessionDoc {
  _id: string;
  userId: string;
  merchantId: string;
  /** Sent back in `X-CSRF-Token` on every POST and DELETE. */
  csrfToken: string;
  createdAt: Date;
  /** Moved forward at most once a minute: the idle timeout counts from here. */
  lastSeenAt: Date;
  /** The absolute end, whatever the activity. */
  expiresAt: Date;
}

export const dashboardSessions = (db: Db) => db.collection<DashboardSessionDoc>('dashboard_sessions');
