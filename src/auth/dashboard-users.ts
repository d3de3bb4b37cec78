import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { Db } from 'mongodb';
import type { Config } from '../config';
import { sha256Hex } from '../crypto';
import { hasKeys } from '../store/api-keys';
import {
  type DashboardRole,
  type DashboardUserDoc,
  dashboardUsers,
  findDashboardUser,
  passwordTokens,
} from '../store/dashboard-users';
import { findMerchant, type MerchantDoc } from '../store/merchants';
import { isDuplicateKeyError } from '../store/payment-records';
import type { Mode } from '../../workflows/vocabulary';
import { ARGON2_OPTIONS } from './accounts';
import { KeyCheckThrottle } from './key-check-throttle';
import { VerificationSlots } from './verification-slots';

/**
 * Dashboard users (docs/dashboard-api.md, "Users and sign-in"): created by the admin command, a password set through a
 * one-time link (or stdin), Argon2id hashes, and a sign-in that locks an email out after 5 wrong passwords for
 * 15 minutes and throttles each client address.
 */

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;
export const PASSWORD_LINK_TTL_MS = 24 * 3600_000;
export const SIGN_IN_FAILURES_PER_EMAIL = 5;
export const SIGN_IN_LOCKOUT_MS = 15 * 60_000;

export interface DashboardUser {
  email: string;
  role: DashboardRole;
  merchantId: string;
  merchantName: string;
  modes: Mode[];
}

export class DashboardUserError extends Error {}

export function checkPasswordStrength(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `a password has at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `a password has at most ${PASSWORD_MAX_LENGTH} characters`;
  return undefined;
}

/** The email as its `_id`: trimmed and lower-cased; undefined for anything that is not an address. */
export function normalizeEmail(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  const email = raw.trim().toLowerCase();
  return email.length <= 254 && /^[^\s@]+@[^\s@]+$/.test(email) ? email : undefined;
}

export async function createDashboardUser(
  db: Db,
  input: { merchantId: string; email: string; role: DashboardRole },
): Promise<DashboardUserDoc> {
  const email = normalizeEmail(input.email);
  if (!email) throw new DashboardUserError(`not an email address: ${input.email}`);
  if (!(await findMerchant(db, input.merchantId))) throw new DashboardUserError(`no merchant ${input.merchantId}`);
  const doc: DashboardUserDoc = {
    _id: email,
    merchantId: input.merchantId,
    role: input.role,
    passwordHash: null,
    failedAttempts: 0,
    lockedUntil: null,
    createdAt: new Date(),
    sessionsNotBefore: null,
    disabledAt: null,
  };
  try {
    await dashboardUsers(db).insertOne(doc);
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new DashboardUserError(`a user ${email} exists already`);
    throw err;
  }
  return doc;
}

/** A one-time link to set the password, valid 24 h; only its token's SHA-256 is stored. */
export async function issuePasswordLink(db: Db, config: Pick<Config, 'publicBaseUrl'>, email: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  await passwordTokens(db).insertOne({
    _id: sha256Hex(token),
    userId: email.toLowerCase(),
    createdAt: new Date(now),
    expiresAt: new Date(now + PASSWORD_LINK_TTL_MS),
  });
  return `${config.publicBaseUrl}/dashboard/set-password#token=${token}`;
}

/**
 * Sets a password and ends every session the user had. The lock-out's count is kept: a new password is no reason
 * to forgive guesses at the old one.
 */
export async function setPassword(db: Db, email: string, password: string): Promise<void> {
  const weak = checkPasswordStrength(password);
  if (weak) throw new DashboardUserError(weak);
  const hash = await argon2.hash(password, ARGON2_OPTIONS);
  const result = await dashboardUsers(db).updateOne(
    { _id: email.toLowerCase() },
    { $set: { passwordHash: hash, sessionsNotBefore: new Date() } },
  );
  if (result.matchedCount !== 1) throw new DashboardUserError(`no user ${email}`);
}

/**
 * Spends a set-password token: deleting its document is what spends it, so of two concurrent uses only the one
 * whose delete removed it goes on. False for an unknown, spent or expired token.
 */
export async function redeemPasswordLink(db: Db, token: string, password: string): Promise<boolean> {
  const weak = checkPasswordStrength(password);
  if (weak) throw new DashboardUserError(weak);
  if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) return false;
  const spent = await passwordTokens(db).findOneAndDelete({ _id: sha256Hex(token) });
  if (!spent || spent.expiresAt.getTime() <= Date.now()) return false;
  const user = await findDashboardUser(db, spent.userId);
  if (!user || user.disabledAt) return false;
  await setPassword(db, spent.userId, password);
  return true;
}

/** Disables a user: no sign-in from now on, and every session ends. */
export async function disableDashboardUser(db: Db, email: string): Promise<boolean> {
  const now = new Date();
  const result = await dashboardUsers(db).updateOne(
    { _id: email.toLowerCase() },
    { $set: { disabledAt: now, sessionsNotBefore: now } },
  );
  return result.matchedCount === 1;
}

/** Users of one merchant: an admin listing, not a request path (a scan on FerretDB, few documents). */
export function listDashboardUsers(db: Db, merchantId: string): Promise<DashboardUserDoc[]> {
  return dashboardUsers(db).find({ merchantId }).sort({ _id: 1 }).toArray();
}

/** A merchant works in live mode once it has a live key or a live connector; before that, `/live` is not theirs. */
export async function hasLiveMode(db: Db, merchant: MerchantDoc): Promise<boolean> {
  return merchant.liveConnector !== null || (await hasKeys(db, merchant._id, 'live'));
}

/** What the dashboard shows of a user: the merchant's name and the modes it can switch to. */
export async function describeUser(db: Db, user: DashboardUserDoc): Promise<DashboardUser | undefined> {
  const merchant = await findMerchant(db, user.merchantId);
  if (!merchant || merchant.status !== 'active') return undefined;
  const live = await hasLiveMode(db, merchant);
  return {
    email: user._id,
    role: user.role,
    merchantId: merchant._id,
    merchantName: merchant.name,
    modes: live ? ['test', 'live'] : ['test'],
  };
}

export type SignInResult =
  | { ok: true; user: DashboardUserDoc }
  | { ok: false; reason: 'invalid' }
  /** The email is locked out, or the address throttled: nothing was checked. */
  | { ok: false; reason: 'throttled' };

/**
 * Checks an email and password. Unknown emails, users without a password and disabled users cost the same
 * Argon2id verification (against a hash of nothing anyone knows) and count as failures the same way, so the
 * answer and its time tell nothing about which emails exist. The per-email budget (5 in 15 minutes, then locked
 * for 15 minutes) and the per-address one (AUTH_FAILURES_PER_ADDRESS) live in the shared rate-limit collection,
 * like the API key check's (src/auth/key-check-throttle.ts); the user document mirrors the count for `user list`.
 */
export class DashboardSignIn {
  private readonly throttle: KeyCheckThrottle;
  private readonly slots: VerificationSlots;
  private decoy: Promise<string> | undefined;

  constructor(
    private readonly db: Db,
    config: Pick<Config, 'throttle'>,
  ) {
    this.throttle = new KeyCheckThrottle(
      db,
      {
        failuresPerKey: SIGN_IN_FAILURES_PER_EMAIL,
        failuresPerAddress: config.throttle.failuresPerAddress,
        lockoutMs: SIGN_IN_LOCKOUT_MS,
      },
      { key: 'dashboard-signin-email', address: 'dashboard-signin-address' },
    );
    this.slots = new VerificationSlots(config.throttle.argon2Concurrency, config.throttle.argon2Queue);
  }

  private decoyHash(): Promise<string> {
    this.decoy ??= argon2.hash(randomBytes(32).toString('base64url'), ARGON2_OPTIONS);
    return this.decoy;
  }

  async signIn(email: string, password: string, address: string): Promise<SignInResult> {
    const emailKey = sha256Hex(email);
    if (await this.throttle.lockedOut(emailKey, address)) return { ok: false, reason: 'throttled' };
    const user = await findDashboardUser(this.db, email);
    const usable = user !== null && user.passwordHash !== null && !user.disabledAt;
    const hash = usable ? user.passwordHash! : await this.decoyHash();
    const checked = await this.slots.run(() => argon2.verify(hash, password));
    if (!checked.ran) return { ok: false, reason: 'throttled' };
    if (usable && checked.value) {
      await this.throttle.clearKey(emailKey);
      // The mirror `user list` shows is reset only when it holds something: a sign-in is not a write otherwise.
      if (user.failedAttempts !== 0 || user.lockedUntil !== null)
        await dashboardUsers(this.db).updateOne({ _id: user._id }, { $set: { failedAttempts: 0, lockedUntil: null } });
      return { ok: true, user };
    }
    await this.throttle.recordFailure(emailKey, address);
    if (user) {
      const failed = user.failedAttempts + 1;
      const locked = failed >= SIGN_IN_FAILURES_PER_EMAIL;
      await dashboardUsers(this.db).updateOne(
        { _id: user._id },
        {
          $set: {
            failedAttempts: locked ? 0 : failed,
            ...(locked ? { lockedUntil: new Date(Date.now() + SIGN_IN_LOCKOUT_MS) } : {}),
          },
        },
      );
    }
    return { ok: false, reason: 'invalid' };
  }
}
