import { randomUUID } from 'node:crypto';
import { type CreatedMerchant, type CreateMerchantInput, createMerchant } from '../../src/auth/accounts';
import { connectToStack, type StackClients } from './stack-client';

export type Endpoint = 'payment' | 'refund' | 'status';
export type Encoding = 'json' | 'form' | 'multipart';

export function uniqueTid(prefix = 'order'): string {
  return `${prefix}-${randomUUID()}`;
}

/** A valid sandbox payment body (approved card), with any field overridden or removed (value undefined). */
export function paymentBody(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const body: Record<string, string | undefined> = {
    Amount: '1234',
    Uid: 'customer-42',
    Tid: uniqueTid(),
    Email: 'jane@example.com',
    CardNumber: '4111111111111111',
    CardMonth: '12',
    CardYear: String(new Date().getUTCFullYear() + 3),
    CardCVV: '123',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(body).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export function newMerchant(stack: StackClients, input: Partial<CreateMerchantInput> = {}): Promise<CreatedMerchant> {
  return createMerchant(stack.db, stack.config, { name: `Test shop ${randomUUID().slice(0, 8)}`, ...input });
}

/**
 * The shared test stack and a merchant of the file's own, set up before the file's tests and closed after them:
 * read `shop.stack` and `shop.merchant` inside the tests.
 */
export function useStackWithMerchant(input: Partial<CreateMerchantInput> = {}): {
  stack: StackClients;
  merchant: CreatedMerchant;
} {
  const shop = {} as { stack: StackClients; merchant: CreatedMerchant };
  beforeAll(async () => {
    shop.stack = await connectToStack();
    shop.merchant = await newMerchant(shop.stack, input);
  });
  afterAll(() => shop.stack?.close());
  return shop;
}

export interface Answer {
  status: number;
  contentType: string | null;
  requestId: string | null;
  body: { Code: number; Result?: Record<string, unknown>; Error?: string };
}

/** Posts to an E-PRO endpoint the way a merchant's integration would, in any of the accepted body shapes. */
export async function post(
  apiUrl: string,
  endpoint: Endpoint,
  key: string | undefined,
  body: Record<string, string>,
  encoding: Encoding = 'json',
  headers: Record<string, string> = {},
): Promise<Answer> {
  const init: RequestInit & { headers: Record<string, string> } = { method: 'POST', headers: { ...headers } };
  if (key !== undefined) init.headers['epro-api-key'] = key;
  if (encoding === 'json') {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  } else if (encoding === 'form') {
    init.body = new URLSearchParams(body);
  } else {
    const form = new FormData();
    for (const [name, value] of Object.entries(body)) form.append(name, value);
    init.body = form;
  }
  const res = await fetch(`${apiUrl}/v1/${endpoint}/direct`, init);
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    requestId: res.headers.get('x-request-id'),
    body: (await res.json()) as Answer['body'],
  };
}

/** Polls until `check` returns a value (not undefined), or fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
