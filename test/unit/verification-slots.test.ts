import { addressBucket } from '../../src/auth/key-check-throttle';
import { VerificationSlots } from '../../src/auth/verification-slots';

/** The bound on concurrent Argon2id verifications, by counts: running, waiting, refused. */
describe('VerificationSlots', () => {
  it('runs at most `concurrency` at once, queues up to `queue`, refuses the rest', async () => {
    const slots = new VerificationSlots(2, 3);
    let running = 0;
    let mostAtOnce = 0;
    const gates: (() => void)[] = [];
    const verify = () =>
      new Promise<boolean>((resolve) => {
        running++;
        mostAtOnce = Math.max(mostAtOnce, running);
        gates.push(() => {
          running--;
          resolve(true);
        });
      });

    const outcomes = Array.from({ length: 10 }, () => slots.run(verify));
    await new Promise((resolve) => setImmediate(resolve));
    expect(running).toBe(2);
    expect(slots.waiting()).toBe(3);
    // The five over the bound are refused at once, without waiting for anything.
    const refused = await Promise.all(outcomes.slice(5));
    expect(refused).toEqual(Array(5).fill({ ran: false }));

    while (gates.length > 0) {
      gates.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await Promise.all(outcomes.slice(0, 5))).toEqual(Array(5).fill({ ran: true, value: true }));
    expect(mostAtOnce).toBe(2);
    expect(slots.waiting()).toBe(0);
  });

  it('with a queue of 0, refuses as soon as every slot is busy', async () => {
    const slots = new VerificationSlots(1, 0);
    let release!: () => void;
    const first = slots.run(() => new Promise<boolean>((resolve) => (release = () => resolve(true))));
    expect(await slots.run(() => Promise.resolve(true))).toEqual({ ran: false });
    release();
    expect(await first).toEqual({ ran: true, value: true });
    expect(await slots.run(() => Promise.resolve(true))).toEqual({ ran: true, value: true });
  });

  it('frees the slot when the verification throws', async () => {
    const slots = new VerificationSlots(1, 0);
    await expect(slots.run(() => Promise.reject(new Error('argon2 failed')))).rejects.toThrow('argon2 failed');
    expect(await slots.run(() => Promise.resolve(false))).toEqual({ ran: true, value: false });
  });
});

describe('addressBucket', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::ff', '2001:db8:1:2::/64'],
    ['', 'unknown'],
  ])('%s → %s', (address, bucket) => {
    expect(addressBucket(address)).toBe(bucket);
  });
});
