import type { Db } from 'mongodb';

export type DashboardRole = 'admin' | 'viewer';

/**
 * A dashboard user (docs/dashboard-api.md): one merchant per user, keyed by the lower-cased email so a sign-in is one
 * `_id` read. `passwordHash` is null until the one-time set-password link is used.
 */
export interface DashboardUserDoc {
  _id: string;
  merchantId: string;
  role: DashboardRole;
  /** Argon2id (ARGON2_OPTIONS of src/auth/accounts.ts); null until a password is set. */
  passwordHash: string | null;
  /** Wrong passwords since the last success or lock-out. */
  failedAttempts: number;
  lockedUntil: Date | null;
  createdAt: Date;
  /** Sessions created before this date are over ("sign out everywhere", a password change, a disable). */
  sessionsNotBefore: Date | null;
  disabledAt?: Date | null;
}

/** A one-time set-password link: only the SHA-256 of its token is kept; spent once, or expired after 24 h. */
export interface PasswordTokenDoc {
  _id: string;
  userId: string;
  expiresAt: Date;
  createdAt: Date;
}

export const dashboardUsers = (db: Db) => db.collection<DashboardUserDoc>('dashboard_users');
export const passwordTokens = (db: Db) => db.collection<PasswordTokenDoc>('dashboard_password_tokens');

export function findDashboardUser(db: Db, email: string): Promise<DashboardUserDoc | null> {
  return dashboardUsers(db).findOne({ _id: email.toLowerCase() });
}
