import { randomUUID } from 'node:crypto';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RATE_LIMITS_COLLECTION, RateLimiterMongoById } from '../../src/auth/rate-limit-store';
import { LEASE_HORIZON_MS, RequestRateLimiter } from '../../src/http/request-rate-limit';
import { eventually } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * The limiter store on the test stack's MongoDB wire server (FerretDB: no TTL index, `_id` the only index used,
 * and a findAndModify that is not isolated, which is why concurrent requests go through RequestRateLimiter's
 * batching). Two limiter instances stand for two API processes sharing one count.
 */
let stack: StackClients;
beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

const outcome = (attempt: Promise<unknown>) =>
  attempt.then(
    () => 'passed',
    (err: unknown) => {
      if (err instanceof RateLimiterRes) return 'refused';
      throw err;
    },
  );

it('one process, 20 concurrent requests of one key with a limit of 7: exactly 7 pass, 13 get a Retry-After', async () => {
  const limiter = new RequestRateLimiter(stack.db);
  const keyId = randomUUID();
  const answers = await Promise.all(Array.from({ length: 20 }, () => limiter.take(keyId, 7)));
  expect(answers.filter((a) => a === undefined)).toHaveLength(7);
  const waits = answers.filter((a) => a !== undefined);
  expect(waits).toHaveLength(13);
  expect(waits.every((s) => Number.isInteger(s) && s >= 1 && s <= 60)).toBe(true);
  expect(await stack.db.collection(RATE_LIMITS_COLLECTION).countDocuments({ _id: `requests:${keyId}` as never })).toBe(
    1,
  );
});

it('two processes share one count', async () => {
  const [one, two] = [new RequestRateLimiter(stack.db), new RequestRateLimiter(stack.db)];
  const keyId = randomUUID();
  const answers = [];
  for (let i = 0; i < 10; i++) answers.push(await (i % 2 ? one : two).take(keyId, 6));
  expect(answers.map((a) => a === undefined)).toEqual([true, true, true, true, true, true, false, false, false, false]);
});

/** Counts the limiter's store calls (each adds to a key's shared count) while `run` runs. */
async function storeCalls<T>(run: () => Promise<T>): Promise<{ result: T; calls: number }> {
  const spy = jest.spyOn(RateLimiterMongoById.prototype, '_upsert');
  try {
    const result = await run();
    return { result, calls: spy.mock.calls.length };
  } finally {
    spy.mockRestore();
  }
}

it('a busy key is counted ahead: far fewer store calls than requests, and the shared count covers every one', async () => {
  const limiter = new RequestRateLimiter(stack.db);
  const keyId = randomUUID();
  const { result: answers, calls } = await storeCalls(async () => {
    const all: (number | undefined)[] = [];
    // 25 rounds of 16 concurrent requests, as 16 connections of one integration would send them.
    for (let round = 0; round < 25; round++)
      all.push(...(await Promise.all(Array.from({ length: 16 }, () => limiter.take(keyId, 6000)))));
    return all;
  });
  expect(answers.every((a) => a === undefined)).toBe(true);
  expect(calls).toBeLessThan(400 / 8);
  const doc = await stack.db
    .collection<{ _id: string; points: number }>(RATE_LIMITS_COLLECTION)
    .findOne({ _id: `requests:${keyId}` });
  // Leased points are counted before they are used: never fewer than the requests admitted.
  expect(doc!.points).toBeGreaterThanOrEqual(400);
});

// The processes take turns: FerretDB's findAndModify is not isolated, so two processes' calls at the same instant
// can lose one's count there (MongoDB's is atomic). Each turn is a burst of concurrent requests of one process.
it('two processes counting ahead let exactly the limit through, never more', async () => {
  const [one, two] = [new RequestRateLimiter(stack.db), new RequestRateLimiter(stack.db)];
  const keyId = randomUUID();
  const answers: (number | undefined)[] = [];
  for (let round = 0; round < 60; round++)
    for (const api of [one, two]) answers.push(...(await Promise.all([api.take(keyId, 50), api.take(keyId, 50)])));
  expect(answers.filter((a) => a === undefined)).toHaveLength(50);
  expect(answers.slice(-20).every((a) => a !== undefined && a >= 1 && a <= 60)).toBe(true);
});

it('a lease ends with its window: past it, the next request is counted by the store again', async () => {
  let now = Date.now();
  const limiter = new RequestRateLimiter(stack.db, () => now);
  const keyId = randomUUID();
  for (let i = 0; i < 40; i++) {
    await limiter.take(keyId, 6000);
    now += 10;
  }
  // Counted ahead by now: the next request is admitted without a store call...
  expect((await storeCalls(() => limiter.take(keyId, 6000))).calls).toBe(0);
  // ...but not once the window the lease was counted in has ended.
  now += 61_000;
  expect((await storeCalls(() => limiter.take(keyId, 6000))).calls).toBe(1);
});

it("the lease is bounded by the horizon of the key's own rate through the process", async () => {
  let now = Date.now();
  const limiter = new RequestRateLimiter(stack.db, () => now);
  const keyId = randomUUID();
  // 10 requests a second: a lease covers about LEASE_HORIZON_MS of them, so a few seconds need a store call each.
  const { calls } = await storeCalls(async () => {
    for (let i = 0; i < 50; i++) {
      await limiter.take(keyId, 6000);
      now += 100;
    }
  });
  const seconds = (50 * 100) / LEASE_HORIZON_MS;
  expect(calls).toBeGreaterThanOrEqual(seconds / 2);
  expect(calls).toBeLessThanOrEqual(seconds * 3);
});

it('an ended window is reopened in place: counting starts again, still one document', async () => {
  const key = randomUUID();
  const limiter = new RateLimiterMongoById(stack.db, { keyPrefix: 'store-test', points: 2, duration: 1 });
  const three = async () => [
    await outcome(limiter.consume(key)),
    await outcome(limiter.consume(key)),
    await outcome(limiter.consume(key)),
  ];
  expect(await three()).toEqual(['passed', 'passed', 'refused']);
  // Waits for the window to end (nothing removes the document: FerretDB has no TTL index).
  await eventually('the window to end', async () => ((await limiter.get(key)) === null ? true : undefined));
  expect(await three()).toEqual(['passed', 'passed', 'refused']);
  expect(await stack.db.collection(RATE_LIMITS_COLLECTION).countDocuments({ _id: `store-test:${key}` as never })).toBe(
    1,
  );
});

it('block and delete work on the same document', async () => {
  const key = randomUUID();
  const limiter = new RateLimiterMongoById(stack.db, { keyPrefix: 'store-test', points: 3, duration: 60 });
  await limiter.block(key, 60);
  await expect(outcome(limiter.consume(key))).resolves.toBe('refused');
  expect(await limiter.delete(key)).toBe(true);
  await expect(outcome(limiter.consume(key))).resolves.toBe('passed');
});
