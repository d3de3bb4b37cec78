import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { createDashboardUser, setPassword } from '../../src/auth/dashboard-users';
import type { DashboardRole } from '../../src/store/dashboard-users';

export const PASSWORD = 'correct horse battery staple';

/** A dashboard user with a known password, made through the same functions as the admin command. */
export async function newDashboardUser(db: Db, merchantId: string, role: DashboardRole = 'admin'): Promise<string> {
  const email = `${role}-${randomUUID().slice(0, 8)}@shop.example`;
  await createDashboardUser(db, { merchantId, email, role });
  await setPassword(db, email, PASSWORD);
  return email;
}

export interface DashboardAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** A browser's view of the dashboard API: one cookie jar (the session cookie) and the CSRF token it was given. */
export class DashboardBrowser {
  cookie: string | undefined;
  csrfToken: string | undefined;

  constructor(readonly apiUrl: string) {}

  async signIn(email: string, password = PASSWORD): Promise<DashboardAnswer> {
    const answer = await this.call('POST', '/session', { email, password });
    if (answer.status === 200) this.csrfToken = answer.body.csrfToken as string;
    return answer;
  }

  /** `csrf`: the header to send (default: the session's token; null: none). */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    options: { csrf?: string | null; contentType?: string; rawBody?: string } = {},
  ): Promise<DashboardAnswer<T>> {
    const headers: Record<string, string> = {};
    if (this.cookie) headers.cookie = `sf_session=${this.cookie}`;
    const csrf = options.csrf === undefined ? this.csrfToken : options.csrf;
    // An empty token is sent as it is: a test may try exactly that.
    if (csrf !== null && csrf !== undefined) headers['x-csrf-token'] = csrf;
    let payload: string | undefined = options.rawBody;
    if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const res = await fetch(`${this.apiUrl}/dashboard/api${path}`, { method, headers, body: payload });
    for (const set of res.headers.getSetCookie()) {
      const match = /^sf_session=([^;]*)/.exec(set);
      if (match) this.cookie = match[1] === '' ? undefined : match[1];
    }
    const text = await res.text();
    let parsed: unknown = {};
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  }
}
