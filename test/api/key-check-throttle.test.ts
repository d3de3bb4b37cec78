import argon2 from 'argon2';
import type { CreatedMerchant } from '../../src/auth/accounts';
import { KeyCheckThrottle } from '../../src/auth/key-check-throttle';
import { RATE_LIMITS_COLLECTION } from '../../src/auth/rate-limit-store';
import { ApiKeyVerifier } from '../../src/auth/verifier';
import { VerificationSlots } from '../../src/auth/verification-slots';
import { eventually, newMerchant } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * The verifier's failure budgets against the test stack's real MongoDB, counted by Argon2id runs (an observable
 * wrapper around the real argon2.verify), never by time. Each verifier here stands for one API process; they
 * share the failure counts through MongoDB. Addresses are documentation ranges, so the API process of the test
 * stack (clients on 127.0.0.1) never shares a counter with these tests.
 */
let stack: StackClients;
beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

const LIMITS = { failuresPerKey: 3, failuresPerAddress: 5, lockoutMs: 10 * 60_000 };

function apiProcess(limits = LIMITS) {
  const counter = { argon2Runs: 0 };
  const verifier = new ApiKeyVerifier(stack.db, {
    ttlMs: 60_000,
    throttle: new KeyCheckThrottle(stack.db, limits),
    slots: new VerificationSlots(2, 10),
    verifyHash: (hash, key) => {
      counter.argon2Runs++;
      return argon2.verify(hash, key);
    },
  });
  return { verifier, counter };
}

/** The same key id with another secret of the right shape. */
const wrongSecret = (key: string, n: number) => `${key.slice(0, -6)}${String(n).padStart(6, '0')}`;
const keyIdOf = (key: string) => key.split('_')[2]!;

it('past the key id budget, wrong and right secrets are refused without Argon2id; a key verified before keeps working', async () => {
  const merchant = await newMerchant(stack);
  const before = apiProcess();
  const attacked = apiProcess();
  expect((await before.verifier.verify(merchant.testKey, '192.0.2.1')).ok).toBe(true);
  expect(before.counter.argon2Runs).toBe(1);

  // Spread over addresses so that only the key id's budget is spent.
  for (let i = 0; i < LIMITS.failuresPerKey; i++) {
    expect(await attacked.verifier.verify(wrongSecret(merchant.testKey, i), `198.51.100.${i + 1}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  }
  expect(attacked.counter.argon2Runs).toBe(LIMITS.failuresPerKey);

  for (let i = 0; i < 5; i++) {
    expect(await attacked.verifier.verify(wrongSecret(merchant.testKey, 100 + i), `198.51.100.${50 + i}`)).toEqual({
      ok: false,
      reason: 'invalid',
    });
  }
  // The right key too, in a process that has not verified it: the lock-out is shared through MongoDB.
  expect(await attacked.verifier.verify(merchant.testKey, '192.0.2.1')).toEqual({ ok: false, reason: 'invalid' });
  expect(attacked.counter.argon2Runs).toBe(LIMITS.failuresPerKey);
  const counted = await stack.db
    .collection(RATE_LIMITS_COLLECTION)
    .findOne({ _id: `auth-failures-key:${keyIdOf(merchant.testKey)}` as never });
  expect(counted).toMatchObject({ points: LIMITS.failuresPerKey + 1 });

  // The process that verified the key before the attack answers from its cache, with no Argon2id.
  expect((await before.verifier.verify(merchant.testKey, '192.0.2.1')).ok).toBe(true);
  expect(before.counter.argon2Runs).toBe(1);

  // Another merchant's key id is not touched.
  const other = await newMerchant(stack);
  expect((await attacked.verifier.verify(other.testKey, '192.0.2.1')).ok).toBe(true);
});

it('past the address budget, that address is refused without Argon2id on any key id; other addresses are not', async () => {
  const merchants: CreatedMerchant[] = await Promise.all(Array.from({ length: 4 }, () => newMerchant(stack)));
  const { verifier, counter } = apiProcess();
  const attacker = '203.0.113.77';
  // Below each key id's budget (3): 2 + 2 + 1 failures spend the address budget (5).
  const attempts = [merchants[0]!, merchants[0]!, merchants[1]!, merchants[1]!, merchants[2]!];
  for (const [i, m] of attempts.entries())
    expect((await verifier.verify(wrongSecret(m.testKey, i), attacker)).ok).toBe(false);
  expect(counter.argon2Runs).toBe(5);

  expect(await verifier.verify(merchants[3]!.testKey, attacker)).toEqual({ ok: false, reason: 'invalid' });
  expect(await verifier.verify(wrongSecret(merchants[2]!.testKey, 9), attacker)).toEqual({
    ok: false,
    reason: 'invalid',
  });
  expect(counter.argon2Runs).toBe(5);

  expect((await verifier.verify(merchants[3]!.testKey, '203.0.113.78')).ok).toBe(true);
  expect((await verifier.verify(merchants[2]!.testKey, '203.0.113.78')).ok).toBe(true);
  expect(counter.argon2Runs).toBe(7);
});

it('an IPv6 client is counted per /64', async () => {
  const merchants: CreatedMerchant[] = await Promise.all(Array.from({ length: 3 }, () => newMerchant(stack)));
  const { verifier, counter } = apiProcess({ ...LIMITS, failuresPerAddress: 2 });
  expect((await verifier.verify(wrongSecret(merchants[0]!.testKey, 1), '2001:db8:7:7::1')).ok).toBe(false);
  expect((await verifier.verify(wrongSecret(merchants[1]!.testKey, 1), '2001:db8:7:7::2')).ok).toBe(false);
  expect(counter.argon2Runs).toBe(2);
  expect((await verifier.verify(merchants[2]!.testKey, '2001:db8:7:7:ffff::9')).ok).toBe(false);
  expect(counter.argon2Runs).toBe(2);
  expect((await verifier.verify(merchants[2]!.testKey, '2001:db8:7:8::1')).ok).toBe(true);
  expect(counter.argon2Runs).toBe(3);
});

it('unknown key ids and malformed keys cost no Argon2id and are not counted', async () => {
  const { verifier, counter } = apiProcess({ ...LIMITS, failuresPerAddress: 1 });
  const address = '203.0.113.200';
  for (let i = 0; i < 5; i++) {
    expect(
      (await verifier.verify(`sk_test_ZZZZZZZZZZ${String(i).padStart(2, '0')}_${'A'.repeat(32)}`, address)).ok,
    ).toBe(false);
    expect((await verifier.verify('sk_test_garbage', address)).ok).toBe(false);
  }
  expect(counter.argon2Runs).toBe(0);
  const merchant = await newMerchant(stack);
  expect((await verifier.verify(merchant.testKey, address)).ok).toBe(true);
});

it('wrong secrets sent at once to one process are all counted', async () => {
  const merchant = await newMerchant(stack);
  const { verifier, counter } = apiProcess();
  const attempts = Array.from({ length: LIMITS.failuresPerKey }, (_, i) =>
    verifier.verify(wrongSecret(merchant.testKey, i), `198.51.100.${100 + i}`),
  );
  expect((await Promise.all(attempts)).every((r) => !r.ok)).toBe(true);
  expect(counter.argon2Runs).toBe(LIMITS.failuresPerKey);
  expect(await verifier.verify(merchant.testKey, '192.0.2.1')).toEqual({ ok: false, reason: 'invalid' });
  expect(counter.argon2Runs).toBe(LIMITS.failuresPerKey);
});

it('with every Argon2id slot busy and the queue full, an uncached key is answered busy (code 9) without a run', async () => {
  const [first, second] = await Promise.all([newMerchant(stack), newMerchant(stack)]);
  let runs = 0;
  let release!: () => void;
  const verifier = new ApiKeyVerifier(stack.db, {
    ttlMs: 60_000,
    throttle: new KeyCheckThrottle(stack.db, LIMITS),
    slots: new VerificationSlots(1, 0),
    verifyHash: async (hash, key) => {
      runs++;
      await new Promise<void>((resolve) => (release = resolve));
      return argon2.verify(hash, key);
    },
  });
  const holding = verifier.verify(first.testKey, '192.0.2.10');
  await eventually('the first verification to hold the slot', () => Promise.resolve(runs === 1 ? true : undefined));
  expect(await verifier.verify(second.testKey, '192.0.2.10')).toEqual({ ok: false, reason: 'busy' });
  expect(runs).toBe(1);
  release();
  expect((await holding).ok).toBe(true);
  // The key verified meanwhile is answered from the cache, whatever the slots.
  expect((await verifier.verify(first.testKey, '192.0.2.10')).ok).toBe(true);
  expect(runs).toBe(1);
});
