import fc from 'fast-check';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { setMerchantRateLimit } from '../../src/store/merchants';
import { newMerchant, paymentBody } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * Any body, any header, any content type, at all three endpoints: HTTP 200, a JSON envelope, a documented
 * Code, the process alive, and nothing written for a rejected request. On a healthy stack no input is answered 9:
 * the boundary turns an unexpected exception into 9, so a 9 here is a crash.
 *
 * How it was shown to fail (scratch changes, reverted): with the body parser throwing on `text/plain`, fast-check
 * found `{payment, text/plain, valid key}` answered 9; with the payment route inserting a document naming the
 * merchant before validating, the write check found `scratch_writes: 12` (300 runs).
 */
let stack: StackClients;
let merchant: CreatedMerchant;
beforeAll(async () => {
  stack = await connectToStack();
  merchant = await newMerchant(stack);
  // The fuzz sends thousands of requests a minute with one key: its own limit, so that a 9 can only be a crash.
  await setMerchantRateLimit(stack.db, merchant.merchantId, 1_000_000);
});
afterAll(() => stack.close());

/** docs/error-codes.md, less 9: nothing here is unavailable or over its limit, so a 9 would be a crash. */
const DOCUMENTED = new Set([
  0,
  1,
  3,
  4,
  5,
  7,
  8,
  22,
  222,
  102,
  103,
  104,
  106,
  300,
  ...Array.from({ length: 22 }, (_, i) => 200 + i),
]);
const FIELD_NAMES = [
  ...Object.keys(paymentBody()),
  'Reference',
  'tid',
  'REFERENCE',
  'amount',
  '3DS',
  'ReturnUrl',
  'CallbackUrl',
  'Country',
  'BirthDate',
  '__proto__',
  'constructor',
];

const fieldValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant({ $gt: '' }),
  fc.constant({ $ne: null }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  fc.constant('x'.repeat(70_000)),
  fc.constantFrom('4111111111111111', '1234', '12.34', '-1', 'yes', 'YES', 'https://127.0.0.1/', ''),
);

const jsonBody = fc
  .dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES), fc.string({ maxLength: 20 })), fieldValue, { maxKeys: 12 })
  .map((fields) => ({ payload: JSON.stringify(fields), contentType: 'application/json' }));

const weirdBody = fc.record({
  payload: fc.oneof(
    fc.string({ maxLength: 500 }),
    fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
    fc.constantFrom(
      '[]',
      'null',
      '123',
      '"str"',
      '{"a":',
      '{}',
      '--x\r\n',
      'Amount=1&Amount=2',
      '%%%',
      '__proto__[x]=1',
    ),
  ),
  contentType: fc.constantFrom(
    'application/json',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'multipart/form-data; boundary=x',
    'text/plain',
    'application/xml',
    '',
    'garbage/;;;',
    'application/json; charset=latin1',
  ),
});

const request = fc.record({
  endpoint: fc.constantFrom('payment', 'refund', 'status'),
  body: fc.oneof(jsonBody, weirdBody),
  key: fc.oneof(
    fc.constant('valid'),
    fc.constant(undefined),
    fc.string({ maxLength: 80 }),
    fc.constant('sk_test_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'),
  ),
  extraHeader: fc.option(
    fc.tuple(
      fc.constantFrom('x-request-id', 'content-encoding', 'x-forwarded-for', 'epro-api-key2'),
      fc.string({ maxLength: 50 }).filter((v) => /^[\x20-\x7e]*$/.test(v)),
    ),
  ),
});

/**
 * What the store holds of this merchant, in every collection that exists (discovered, not listed): documents that
 * name it anywhere. A refused request must add none, in any collection.
 */
async function counts(): Promise<Record<string, number>> {
  const collections = await stack.db.listCollections({}, { nameOnly: true }).toArray();
  const found: Record<string, number> = {};
  for (const { name } of collections) {
    let n = 0;
    for await (const doc of stack.db.collection(name).find({}))
      if (JSON.stringify(doc).includes(merchant.merchantId)) n++;
    if (n > 0) found[name] = n;
  }
  return found;
}

/** Workflows Temporal holds for this merchant (visibility, by search attribute). */
async function workflowsOfMerchant(): Promise<number> {
  const { count } = await stack.temporal.workflow.count(`MerchantId = '${merchant.merchantId}'`);
  return count;
}

it('answers every request with HTTP 200, a JSON envelope and a documented code, and writes nothing when it refuses', async () => {
  const before = await counts();
  let accepted = 0;
  await fc.assert(
    fc.asyncProperty(request, async ({ endpoint, body, key, extraHeader }) => {
      const headers: Record<string, string> = {};
      if (body.contentType) headers['content-type'] = body.contentType;
      if (key !== undefined)
        headers['epro-api-key'] = key === 'valid' ? merchant.testKey : key.replace(/[^\x20-\x7e]/g, '');
      if (extraHeader) headers[extraHeader[0]] = extraHeader[1];
      const res = await fetch(`${stack.apiUrl}/v1/${endpoint}/direct`, { method: 'POST', headers, body: body.payload });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const envelope = (await res.json()) as { Code: unknown; Error?: unknown; Result?: unknown };
      expect(typeof envelope.Code).toBe('number');
      expect(DOCUMENTED.has(envelope.Code as number)).toBe(true);
      if (envelope.Code === 0) {
        accepted++;
      } else {
        expect(typeof envelope.Error).toBe('string');
        // Never an internal detail: no stack frames, no driver or SDK messages.
        expect(envelope.Error).not.toMatch(/at .*\.js|Mongo|Temporal|Error:/);
      }
    }),
    {
      numRuns: Number(process.env.FUZZ_RUNS ?? 3000),
      seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined,
    },
  );
  // Arbitrary bodies essentially never form a valid payment; if one did, it is allowed to have written its rows.
  if (accepted === 0) {
    expect(await counts()).toEqual(before);
    expect(await workflowsOfMerchant()).toBe(0);
  }
  const health = await fetch(`${stack.apiUrl}/health`);
  expect(health.status).toBe(200);
}, 600_000);
