import { randomUUID } from 'node:crypto';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { RATE_LIMITS_COLLECTION, RateLimiterMongoById } from '../../src/auth/rate-limit-store';
import { RequestRateLimiter } from '../../src/http/request-rate-limit';
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
