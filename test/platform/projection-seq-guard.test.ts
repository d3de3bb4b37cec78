import { randomUUID } from 'node:crypto';
import { type ProjectionInput, paymentKey } from '../../workflows/vocabulary';
import { applyProjection, findPayment, insertPayment, type PaymentDoc } from '../../src/store/payment-records';
import { useRealPaymentActivities } from '../support/stack-client';

/**
 * The projection's sequence guard (src/store/payment-records.ts applyProjection), through the worker's own projectPayment
 * activity, against the test stack's FerretDB: the workflow numbers its projection writes, and a retried write or
 * one overtaken by a newer one must change nothing. (The workflow suite's fakes re-implement the guard; this is the
 * real one.)
 *
 * How it was shown to fail (each break made in src/store/payment-records.ts, the file run, reverted): with the filter
 * reduced to `{ _id: key }`, the repeated/older test fails (a late seq 1 turned `captured` seq 3 into `authorized`
 * seq 1) and so does the in-any-order test; with `$lte` for `$lt`, a repeated seq 3 turned `captured` into `failed`.
 * With the history-length arm of the guard removed, the retried task's `cancelled` stayed `rejected_pw`.
 * The race test fails on the real guard itself (see its comment).
 */
const real = useRealPaymentActivities();

/** A payment as its workflow first records it: `pending`, seq 0. */
async function reservedPayment(): Promise<string> {
  const merchantId = 'mer_seqguard';
  const tid = `seq-${randomUUID()}`;
  const key = paymentKey('test', merchantId, tid);
  const now = new Date();
  const doc: PaymentDoc = {
    _id: key,
    mode: 'test',
    merchantId,
    tid,
    reference: `pr_${randomUUID().replace(/-/g, '')}`,
    uid: 'customer-42',
    amount: 1234,
    currency: 'EUR',
    maskedPan: '411111******1111',
    brand: 'visa',
    workflowId: `payment-${key}`,
    status: 'pending',
    message: 'Payment is being processed',
    threeDS: false,
    seq: 0,
    createdAt: now,
    updatedAt: now,
  };
  await insertPayment(real.stack.db, doc);
  return key;
}

const write = (key: string, seq: number, fields: Partial<ProjectionInput> = {}) =>
  real.activities.projectPayment({
    paymentKey: key,
    seq,
    date: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)).toISOString(),
    ...fields,
  });

const state = async (key: string) => {
  const doc = await findPayment(real.stack.db, key);
  return (
    doc && {
      seq: doc.seq,
      status: doc.status,
      message: doc.message,
      refund: doc.refund?.reference,
      updatedAt: doc.updatedAt.toISOString(),
    }
  );
};

it('applies a newer seq: the fields, the seq, the date, and marks the payment started', async () => {
  const key = await reservedPayment();
  await write(key, 1, { status: 'authorized', message: 'Payment authorized' });
  expect(await state(key)).toEqual({
    seq: 1,
    status: 'authorized',
    message: 'Payment authorized',
    refund: undefined,
    updatedAt: '2030-01-01T00:00:01.000Z',
  });

  await write(key, 2, { status: 'captured', message: 'Payment was successful' });
  await write(key, 3, { refund: { reference: 'ref_seq', status: 'captured', message: 'Payment refunded' } });
  expect(await state(key)).toEqual({
    seq: 3,
    status: 'captured',
    message: 'Payment was successful',
    refund: 'ref_seq',
    updatedAt: '2030-01-01T00:00:03.000Z',
  });
});

it('changes nothing for a repeated or an older seq', async () => {
  const key = await reservedPayment();
  await write(key, 3, { status: 'captured', message: 'Payment was successful' });
  const after3 = await state(key);

  // A retried activity (same seq, even with other content), then writes the workflow made earlier, arriving late.
  await write(key, 3, { status: 'failed', message: 'Capture refused' });
  await write(key, 2, { status: 'authorized', message: 'Payment authorized' });
  await write(key, 1, { refund: { reference: 'ref_late', status: 'captured', message: 'Payment refunded' } });
  expect(await state(key)).toEqual(after3);
  // The store's own answer: nothing was modified.
  expect(await applyProjection(real.stack.db, key, 3, { status: 'failed' })).toBe(false);
  expect(await applyProjection(real.stack.db, key, 0, { status: 'failed' })).toBe(false);
  expect(await applyProjection(real.stack.db, key, 4, { message: 'Payment was successful' })).toBe(true);
  expect(await state(key)).toMatchObject({ seq: 4, status: 'captured' });
});

it('between two writes of one seq, the one decided on the longer history wins, and only it', async () => {
  // A workflow task ran its local activity (3-D Secure answered: rejected_pw), then lost its completion; its retry,
  // on a history longer by the failed task's events, saw the challenge's timeout first (cancelled).
  const key = await reservedPayment();
  await write(key, 2, { status: 'pending', message: 'Waiting for 3-D Secure', historyLength: 9 });
  await write(key, 3, { status: 'rejected_pw', message: '3-D Secure failed', historyLength: 14 });
  await write(key, 3, { status: 'cancelled', message: 'Payment was cancelled', historyLength: 18 });
  expect(await state(key)).toMatchObject({ seq: 3, status: 'cancelled' });
  // The first execution's write, arriving late (a worker that was only slow), and a retry of the second: nothing.
  await write(key, 3, { status: 'rejected_pw', message: '3-D Secure failed', historyLength: 14 });
  await write(key, 3, { status: 'failed', message: 'retried write', historyLength: 18 });
  expect(await state(key)).toMatchObject({ seq: 3, status: 'cancelled', message: 'Payment was cancelled' });
  // An older seq still changes nothing, whatever its history length; a newer one applies as before.
  await write(key, 2, { status: 'pending', message: 'late', historyLength: 40 });
  expect(await state(key)).toMatchObject({ seq: 3, status: 'cancelled' });
  await write(key, 4, {
    refund: { reference: 'ref_hl', status: 'captured', message: 'Payment refunded' },
    historyLength: 20,
  });
  expect(await state(key)).toMatchObject({ seq: 4, status: 'cancelled', refund: 'ref_hl' });
});

it('a write without a history length (a worker of an earlier version) keeps the plain seq guard', async () => {
  const key = await reservedPayment();
  await write(key, 3, { status: 'rejected_pw', message: '3-D Secure failed' });
  await write(key, 3, { status: 'cancelled', message: 'Payment was cancelled' });
  expect(await state(key)).toMatchObject({ seq: 3, status: 'rejected_pw' });
  // A record last written without one is not replaced under the same seq by a write with one either: its
  // history length is unknown, so nothing says which decision came later.
  await write(key, 3, { status: 'cancelled', message: 'Payment was cancelled', historyLength: 30 });
  expect(await state(key)).toMatchObject({ seq: 3, status: 'rejected_pw' });
});

it('ends at the highest seq whatever order the writes arrive in, one after another', async () => {
  const key = await reservedPayment();
  for (const seq of [3, 1, 5, 2, 4]) await write(key, seq, { status: 'authorized', message: `write ${seq}` });
  expect(await state(key)).toMatchObject({ seq: 5, message: 'write 5' });
});

/**
 * KNOWN TO FAIL on FerretDB 1.24, so marked `failing` (it turns red once the race is fixed): FerretDB runs an
 * update as a read, the filter evaluated in Go, then a rewrite of the whole document by `_id` (handler
 * msg_update.go, sqlite backend UpdateAll), with nothing holding the document in between. Two writers that read it
 * before either wrote both pass the `seq < n` filter, and the lower seq, written last, wins. Measured here: 10–18%
 * of documents lost the higher of just two concurrent writes; with 24 writers, 2 to 15 of 20 documents per round
 * (fewest in the first round, while the driver still opens its connections), and once none. Real MongoDB applies
 * the filter and the update atomically per document; with the writes queued one at a time in applyProjection, this
 * test's body passes (checked: `failing` then reports it). Up to ten rounds of 20 payments × 24 writers.
 */
it.failing('ends at the highest seq when writers race (fails on FerretDB: its update is not atomic)', async () => {
  const writers = 24;
  for (let round = 1; round <= 10; round++) {
    const keys = await Promise.all(Array.from({ length: 20 }, () => reservedPayment()));
    // Issued highest first, all at once: a lower seq that overtakes a higher one shows as a lower final seq.
    await Promise.all(
      keys.flatMap((key) =>
        Array.from({ length: writers }, (_, i) => writers - i).map((seq) =>
          write(key, seq, { status: 'authorized', message: `write ${seq}` }),
        ),
      ),
    );
    const finals = await Promise.all(keys.map((key) => state(key)));
    expect({ round, behind: finals.filter((doc) => doc?.seq !== writers) }).toEqual({ round, behind: [] });
  }
});

it('creates nothing for a payment that has no document', async () => {
  const key = paymentKey('test', 'mer_seqguard', `absent-${randomUUID()}`);
  await write(key, 1, { status: 'captured', message: 'Payment was successful' });
  expect(await findPayment(real.stack.db, key)).toBeNull();
});
