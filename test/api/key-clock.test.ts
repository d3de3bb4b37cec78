import { revokeApiKey, rotateApiKey } from '../../src/auth/accounts';
import { KeyCheckThrottle } from '../../src/auth/key-check-throttle';
import { ApiKeyVerifier } from '../../src/auth/verifier';
import { VerificationSlots } from '../../src/auth/verification-slots';
import { newMerchant } from '../support/factories';
import { connectToStack, type StackClients } from '../support/stack-client';

/**
 * The two time bounds of API keys, with the verifier's clock driven by the test (against the real MongoDB of the
 * test stack), so a loaded machine cannot make them pass or fail by being slow: a rotated key works until the end
 * of its grace period and not one millisecond after, even from the cache; a revoked key works from the cache for
 * at most the cache lifetime (docs/authentication.md).
 *
 * How it was shown to fail: with the cache hit no longer re-checking the key's expiry, the rotation test failed
 * (the old key still worked past its grace); with the cache lifetime doubled inside the verifier, the revocation
 * test failed at the bound.
 */
let stack: StackClients;
beforeAll(async () => {
  stack = await connectToStack();
});
afterAll(() => stack.close());

const TTL_MS = 60_000;
const ADDRESS = '192.0.2.77';

function verifierAt(clock: { now: number }): ApiKeyVerifier {
  return new ApiKeyVerifier(stack.db, {
    ttlMs: TTL_MS,
    throttle: new KeyCheckThrottle(stack.db, { failuresPerKey: 1000, failuresPerAddress: 1000, lockoutMs: 60_000 }),
    slots: new VerificationSlots(2, 10),
    now: () => clock.now,
  });
}

it('a rotated key works through its grace period, cached or not, and is refused the moment it ends', async () => {
  const merchant = await newMerchant(stack);
  const clock = { now: Date.now() };
  const verifier = verifierAt(clock);
  expect((await verifier.verify(merchant.testKey, ADDRESS)).ok).toBe(true);

  const { key: newKey, oldKeysExpireAt } = await rotateApiKey(stack.db, merchant.merchantId, 'test', 3_600_000);
  const end = oldKeysExpireAt.getTime();
  clock.now = end - 1;
  expect((await verifier.verify(merchant.testKey, ADDRESS)).ok).toBe(true);
  expect((await verifierAt(clock).verify(merchant.testKey, ADDRESS)).ok).toBe(true);
  clock.now = end;
  expect(await verifier.verify(merchant.testKey, ADDRESS)).toEqual({ ok: false, reason: 'invalid' });
  expect(await verifierAt(clock).verify(merchant.testKey, ADDRESS)).toEqual({ ok: false, reason: 'invalid' });
  expect((await verifier.verify(newKey, ADDRESS)).ok).toBe(true);
});

it('a revoked key is refused as soon as its cached verification is older than the cache lifetime', async () => {
  const merchant = await newMerchant(stack);
  const clock = { now: Date.now() };
  const verifier = verifierAt(clock);
  const verifiedAt = clock.now;
  expect((await verifier.verify(merchant.testKey, ADDRESS)).ok).toBe(true);
  expect(await revokeApiKey(stack.db, merchant.testKey.split('_')[2]!)).toBe(true);

  // A fresh process sees the revocation at once; this one may answer from its cache, within the bound only.
  expect(await verifierAt(clock).verify(merchant.testKey, ADDRESS)).toEqual({ ok: false, reason: 'invalid' });
  clock.now = verifiedAt + TTL_MS - 1;
  expect((await verifier.verify(merchant.testKey, ADDRESS)).ok).toBe(true);
  clock.now = verifiedAt + TTL_MS;
  expect(await verifier.verify(merchant.testKey, ADDRESS)).toEqual({ ok: false, reason: 'invalid' });
});
