import { randomUUID } from 'node:crypto';
import { ObjectId } from 'mongodb';
import { type Mode, type PaymentInput, type PaymentStatus, paymentKey } from '../../workflows/vocabulary';
import { findPayment, insertPayment, type PaymentDoc, payments } from '../../src/store/payment-records';
import {
  backfillListing,
  BATCH,
  InvalidCursorError,
  listingDocs,
  listPayments,
  MAX_EXAMINED,
  type Owner,
  paymentListing,
  paymentsOfUid,
  recordListing,
  timeKey,
} from '../../src/store/payment-listing';
import { ferretdbOnSqlite } from '../support/ferretdb-backend';
import { capturedPaymentDoc } from '../support/payment-docs';
import { useRealPaymentActivities } from '../support/stack-client';

/**
 * The dashboard's payment lists (src/store/payment-listing.ts) against the test stack's FerretDB, built with our
 * patches: the lists are `_id` ranges read in `_id` order with a limit, which FerretDB answers from its `_id`
 * index only with tools/ferretdb/patches/0003-… (the last block checks that patch's answers and plans directly).
 * Every test uses merchants of its own (the stack is shared).
 */
const real = useRealPaymentActivities();
const db = () => real.stack.db;

const newOwner = (mode: Mode = 'test'): Owner => ({ merchantId: `mer_list${randomUUID().slice(0, 8)}`, mode });

const BASE = Date.UTC(2030, 0, 1);

const paymentDoc = capturedPaymentDoc;

async function store(doc: PaymentDoc): Promise<PaymentDoc> {
  await insertPayment(db(), doc);
  await recordListing(db(), doc);
  return doc;
}

/** Stores many payments at once (insertMany), listed or not. */
async function storeMany(docs: PaymentDoc[], listed = true): Promise<void> {
  await payments(db()).insertMany(docs);
  if (listed) await paymentListing(db()).insertMany(docs.flatMap(listingDocs));
}

/** Every page of a list, following `next`. */
async function allPages(
  read: (cursor: string | null) => ReturnType<typeof listPayments>,
): Promise<{ pages: string[][]; tids: string[] }> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const page = await read(cursor);
    pages.push(page.payments.map((p) => p.tid));
    cursor = page.next;
  } while (cursor !== null && pages.length < 100);
  return { pages, tids: pages.flat() };
}

describe('payment listing', () => {
  it("is written by the payment's first step (the real activity), idempotently", async () => {
    const owner = newOwner();
    const tid = `act-${randomUUID()}`;
    const date = new Date(BASE).toISOString();
    const payment = {
      paymentKey: paymentKey(owner.mode, owner.merchantId, tid),
      mode: owner.mode,
      merchantId: owner.merchantId,
      tid,
      reference: `pr_${randomUUID().replace(/-/g, '')}`,
      uid: 'shopper:7',
      amount: 4200,
      currency: 'EUR',
      maskedPan: '411111******1111',
      brand: 'visa',
      vaultToken: `vt_${randomUUID()}`,
      connector: 'simulator',
      threeDSRequested: false,
    } as PaymentInput;
    const input = { payment, workflowId: `payment-${tid}`, message: 'Payment is being processed', date };
    await real.activities.recordPayment(input);
    await real.activities.recordPayment(input); // a retry of the step
    const listed = await listPayments(db(), owner, {}, null, 25);
    expect(listed).toEqual({ payments: [expect.objectContaining({ tid, amount: 4200 })], next: null });
    expect((await paymentsOfUid(db(), owner, 'shopper:7', null, 25)).payments.map((p) => p.tid)).toEqual([tid]);
    expect(await paymentListing(db()).countDocuments({ paymentKey: payment.paymentKey })).toBe(2);
  });

  it('keys never hold a digit run a card-data scanner would take for a card number (13 or more digits)', () => {
    const owner = newOwner();
    for (let ms = 0; ms < 4_000_000_000_000; ms += 7_919_000_003) {
      const payment = paymentDoc(owner, 'order-1', new Date(ms));
      for (const doc of listingDocs(payment)) expect(doc._id).not.toMatch(/\d{13}/);
    }
  });

  it('lists newest first, pages with an opaque cursor, and ends with next = null', async () => {
    const owner = newOwner();
    const stored: PaymentDoc[] = [];
    for (let i = 0; i < 7; i++) stored.push(await store(paymentDoc(owner, `ord-${i}`, new Date(BASE + i * 60_000))));
    // Two payments in the same millisecond: both listed, in Tid order.
    stored.push(await store(paymentDoc(owner, 'same-b', new Date(BASE + 10 * 60_000))));
    stored.push(await store(paymentDoc(owner, 'same-a', new Date(BASE + 10 * 60_000))));

    const { pages, tids } = await allPages((cursor) => listPayments(db(), owner, {}, cursor, 3));
    expect(tids).toEqual(['same-a', 'same-b', 'ord-6', 'ord-5', 'ord-4', 'ord-3', 'ord-2', 'ord-1', 'ord-0']);
    expect(pages.map((p) => p.length)).toEqual([3, 3, 3]);

    const first = await listPayments(db(), owner, {}, null, 3);
    expect(first.next).not.toBeNull();
    expect(first.next).not.toContain(owner.merchantId); // opaque, not a readable key
    const full = await listPayments(db(), owner, {}, null, 100);
    expect(full.next).toBeNull();
    expect(full.payments[0]).toMatchObject({ tid: 'same-a', status: 'captured', amount: 1000 });
  });

  it('filters by status, dates, amount and 3-D Secure, reading status from the payment records', async () => {
    const owner = newOwner();
    const statuses: PaymentStatus[] = ['captured', 'failed', 'pending', 'captured', 'cancelled', 'captured'];
    for (const [i, status] of statuses.entries())
      await store(
        paymentDoc(owner, `f-${i}`, new Date(BASE + i * 3_600_000), {
          status,
          amount: 100 * (i + 1),
          threeDS: i % 2 === 1,
        }),
      );
    const tids = async (filters: Parameters<typeof listPayments>[2], limit = 25) =>
      (await allPages((cursor) => listPayments(db(), owner, filters, cursor, limit))).tids;

    expect(await tids({ statuses: ['captured'] })).toEqual(['f-5', 'f-3', 'f-0']);
    expect(await tids({ statuses: ['captured'] }, 1)).toEqual(['f-5', 'f-3', 'f-0']);
    expect(await tids({ statuses: ['failed', 'pending'] })).toEqual(['f-2', 'f-1']);
    expect(await tids({ statuses: [] })).toHaveLength(6);
    // Inclusive bounds on createdAt.
    expect(await tids({ from: new Date(BASE + 3_600_000), to: new Date(BASE + 3 * 3_600_000) })).toEqual([
      'f-3',
      'f-2',
      'f-1',
    ]);
    expect(await tids({ from: new Date(BASE + 6 * 3_600_000) })).toEqual([]);
    expect(await tids({ to: new Date(BASE - 1) })).toEqual([]);
    expect(await tids({ minAmount: 200, maxAmount: 400 })).toEqual(['f-3', 'f-2', 'f-1']);
    expect(await tids({ threeDS: true })).toEqual(['f-5', 'f-3', 'f-1']);
    expect(await tids({ threeDS: false, statuses: ['captured'], maxAmount: 300 })).toEqual(['f-0']);

    // A status changed by the workflow shows at once (the listing documents themselves never change).
    await payments(db()).updateOne(
      { _id: paymentKey(owner.mode, owner.merchantId, 'f-2') },
      { $set: { status: 'captured' } },
    );
    expect(await tids({ statuses: ['captured'] })).toEqual(['f-5', 'f-3', 'f-2', 'f-0']);
  });

  it('examines a bounded number of listing documents per request, and says where to go on', async () => {
    const owner = newOwner();
    const declined = Array.from({ length: MAX_EXAMINED + BATCH / 2 }, (_, i) =>
      paymentDoc(owner, `d-${String(i).padStart(5, '0')}`, new Date(BASE + 10_000_000 + i), { status: 'failed' }),
    );
    await storeMany([paymentDoc(owner, 'the-one', new Date(BASE)), ...declined]);

    const first = await listPayments(db(), owner, { statuses: ['captured'] }, null, 25);
    expect(first.payments).toEqual([]);
    expect(first.next).not.toBeNull();
    const second = await listPayments(db(), owner, { statuses: ['captured'] }, first.next, 25);
    expect(second.payments.map((p) => p.tid)).toEqual(['the-one']);
    expect(second.next).toBeNull();
    // Unfiltered, the first page is the newest 25 at once.
    const plain = await listPayments(db(), owner, {}, null, 25);
    expect(plain.payments.map((p) => p.tid)).toEqual(
      declined
        .slice(-25)
        .reverse()
        .map((p) => p.tid),
    );
  });

  it('searches by Uid exactly, a `:` in a Uid included, newest first with paging', async () => {
    const owner = newOwner();
    await store(paymentDoc(owner, 'u-a-1', new Date(BASE), { uid: 'a' }));
    await store(paymentDoc(owner, 'u-a-2', new Date(BASE + 1000), { uid: 'a' }));
    await store(paymentDoc(owner, 'u-ab-1', new Date(BASE + 500), { uid: 'a:b' }));
    await store(paymentDoc(owner, 'u-ab-2', new Date(BASE + 2000), { uid: 'a:b' }));
    await store(paymentDoc(owner, 'u-colon', new Date(BASE + 2000), { uid: 'a:' }));
    await store(paymentDoc(owner, 'u-other', new Date(BASE + 3000), { uid: 'a!(x)' }));
    await store(paymentDoc(owner, 'u-unicode', new Date(BASE + 3000), { uid: 'Zoë 100% <x>' }));
    // A lone surrogate (JSON allows "\ud800") must not make the first step throw.
    await store(paymentDoc(owner, 'u-lone', new Date(BASE + 3000), { uid: 'lone\ud800' }));

    const uidTids = async (uid: string, limit = 25) =>
      (await allPages((cursor) => paymentsOfUid(db(), owner, uid, cursor, limit))).tids;
    expect(await uidTids('a')).toEqual(['u-a-2', 'u-a-1']);
    expect(await uidTids('a', 1)).toEqual(['u-a-2', 'u-a-1']);
    expect(await uidTids('a:b')).toEqual(['u-ab-2', 'u-ab-1']);
    expect(await uidTids('a:')).toEqual(['u-colon']);
    expect(await uidTids('a!(x)')).toEqual(['u-other']);
    expect(await uidTids('Zoë 100% <x>')).toEqual(['u-unicode']);
    // What the record holds: BSON stores UTF-8, so the driver wrote U+FFFD for the lone surrogate.
    expect((await findPayment(db(), paymentKey(owner.mode, owner.merchantId, 'u-lone')))?.uid).toBe('lone\ufffd');
    expect(await uidTids('lone\ufffd')).toEqual(['u-lone']);
    expect(await uidTids('b')).toEqual([]);
    expect(await uidTids('a:b:1')).toEqual([]);
  });

  it("never shows another merchant's or the other mode's payments, and refuses their cursors", async () => {
    const mine = newOwner('test');
    const mineLive: Owner = { merchantId: mine.merchantId, mode: 'live' };
    const theirs = newOwner('test');
    for (let i = 0; i < 3; i++) {
      await store(paymentDoc(mine, `iso-${i}`, new Date(BASE + i), { uid: 'shared' }));
      await store(paymentDoc(mineLive, `iso-${i}`, new Date(BASE + i), { uid: 'shared', amount: 7 }));
      await store(paymentDoc(theirs, `iso-${i}`, new Date(BASE + i), { uid: 'shared', amount: 9 }));
    }
    const check = (page: { payments: PaymentDoc[] }, owner: Owner) => {
      expect(page.payments).toHaveLength(2);
      for (const p of page.payments) expect([p.merchantId, p.mode]).toEqual([owner.merchantId, owner.mode]);
    };
    const theirPage = await listPayments(db(), theirs, {}, null, 2);
    check(theirPage, theirs);
    check(await listPayments(db(), mine, {}, null, 2), mine);
    check(await listPayments(db(), mineLive, {}, null, 2), mineLive);
    check(await paymentsOfUid(db(), mine, 'shared', null, 2), mine);
    check(await paymentsOfUid(db(), mineLive, 'shared', null, 2), mineLive);

    await expect(listPayments(db(), mine, {}, theirPage.next, 2)).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(listPayments(db(), mineLive, {}, theirPage.next, 2)).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(paymentsOfUid(db(), theirs, 'shared', theirPage.next, 2)).rejects.toBeInstanceOf(InvalidCursorError);
    await expect(listPayments(db(), mine, {}, 'not-a-cursor', 2)).rejects.toBeInstanceOf(InvalidCursorError);
    const forged = Buffer.from(JSON.stringify({ after: `test:${theirs.merchantId}:t:` })).toString('base64url');
    await expect(listPayments(db(), mine, {}, forged, 2)).rejects.toBeInstanceOf(InvalidCursorError);
  });

  it('backfills payments made before, once, skipping payments already listed', async () => {
    const owner = newOwner();
    const old = Array.from({ length: 5 }, (_, i) => paymentDoc(owner, `old-${i}`, new Date(BASE + i), { uid: 'x:y' }));
    await storeMany(old.slice(0, 3), false);
    await storeMany(old.slice(3), true);
    // Marked as listed by hand: the backfill must not write it again.
    await paymentListing(db()).updateOne({ _id: timeKey(old[4]!) }, { $set: { amount: -1 } });
    expect((await listPayments(db(), owner, {}, null, 25)).payments).toHaveLength(2);

    await paymentListing(db()).deleteOne({ _id: 'backfill:v1' });
    expect(await backfillListing(db())).toBeGreaterThanOrEqual(3);
    expect((await listPayments(db(), owner, {}, null, 25)).payments.map((p) => p.tid)).toEqual([
      'old-4',
      'old-3',
      'old-2',
      'old-1',
      'old-0',
    ]);
    expect((await paymentsOfUid(db(), owner, 'x:y', null, 25)).payments).toHaveLength(5);
    expect((await paymentListing(db()).findOne({ _id: timeKey(old[4]!) }))?.amount).toBe(-1);
    // The marker: the next start reads one document and scans nothing.
    expect(await backfillListing(db())).toBe(0);
    expect(await paymentListing(db()).countDocuments({ paymentKey: { $in: old.map((p) => p._id) } })).toBe(10);
    expect(await findPayment(db(), old[0]!._id)).not.toBeNull();
  });
});

/**
 * FerretDB patch 0003 on its own, in a scratch collection: a string range and an `$in` of strings are pushed down as
 * safe partial filters (the handler still drops what MongoDB would not match: an ObjectId whose hex falls in the
 * range, a number), a sort on `_id` is applied through the index so that filter + limit stop early, and explain
 * says so. SQLite only: on FerretDB's PostgreSQL backend nothing of this is pushed down.
 */
(ferretdbOnSqlite ? describe : describe.skip)('FerretDB _id range, $in and sort pushdown', () => {
  const name = `pushdown_${randomUUID().replace(/-/g, '')}`;
  const coll = () => db().collection<{ _id: unknown; n: number }>(name);
  const oid = new ObjectId('a1b2c3d4e5f60718293a4b5c');

  beforeAll(async () => {
    await coll().insertMany([
      { _id: 'a1', n: 1 },
      { _id: 'a3', n: 3 },
      { _id: 'a2', n: 2 },
      { _id: 'a b', n: 0 },
      { _id: 'b1', n: 4 },
      { _id: 'A1', n: 5 },
      { _id: oid, n: 6 },
      { _id: 42, n: 7 },
      { _id: { a: 1 }, n: 8 },
    ]);
  });
  afterAll(() => coll().drop());

  const ids = async (filter: object, sort?: 1 | -1, limit = 0) => {
    let cursor = coll().find(filter);
    if (sort) cursor = cursor.sort({ _id: sort });
    return (await cursor.limit(limit).toArray()).map((d) => d._id);
  };

  it('answers string ranges and $in of strings like MongoDB, in order', async () => {
    expect(await ids({ _id: { $gte: 'a', $lt: 'b' } }, 1)).toEqual(['a b', 'a1', 'a2', 'a3']);
    expect(await ids({ _id: { $gt: 'a1', $lte: 'b1' } }, -1)).toEqual(['b1', 'a3', 'a2']);
    expect(await ids({ _id: { $gt: 'a1', $lte: 'b1' } }, -1, 2)).toEqual(['b1', 'a3']);
    // The ObjectId's hex lies in this range as text; MongoDB matches strings only.
    expect(await ids({ _id: { $gte: '0', $lt: 'z' } }, 1)).toEqual(['A1', 'a b', 'a1', 'a2', 'a3', 'b1']);
    expect(await ids({ _id: { $lt: 'a2' } }, 1)).toEqual(['A1', 'a b', 'a1']);
    expect(await ids({ _id: { $in: ['b1', 'a2', 'zz', 'a b'] } }, 1)).toEqual(['a b', 'a2', 'b1']);
    expect(await ids({ _id: { $gte: 'a', $lt: 'b' }, n: { $gte: 2 } }, -1, 1)).toEqual(['a3']);
    // Not pushed down, still right: a number range, and no sort.
    expect(await ids({ _id: { $gte: 0 } }, 1)).toEqual([42]);
    expect((await ids({ _id: { $gte: 'a', $lt: 'b' } })).sort()).toEqual(['a b', 'a1', 'a2', 'a3']);
  });

  it('fails a sorted query rather than answer out of order when stored _id strings break its assumption', async () => {
    // "zz" < "zz!" as strings, but `"zz!"` < `"zz"` as the JSON text SQLite orders by: a range of such keys
    // (which SettleFlow's percent-encoded keys never are) must not come back silently misordered.
    await coll().insertMany([
      { _id: 'zz', n: 9 },
      { _id: 'zz!', n: 10 },
    ]);
    await expect(ids({ _id: { $gte: 'zz', $lt: 'zz~' } }, 1)).rejects.toThrow(/_id sort pushdown/);
    // Without the sort, the range itself still answers right.
    expect((await ids({ _id: { $gte: 'zz', $lt: 'zz~' } })).sort()).toEqual(['zz', 'zz!']);
  });

  it('reports the pushdown in explain, with the _id index in the plan', async () => {
    const explain = (find: object) => db().command({ explain: { find: name, ...find } });
    const ranged = await explain({ filter: { _id: { $gte: 'a', $lt: 'b' } }, sort: { _id: 1 }, limit: 2 });
    expect(ranged).toMatchObject({ filterPushdown: true, sortPushdown: true });
    const plan = JSON.stringify(ranged.queryPlanner);
    expect(plan).toMatch(/USING INDEX/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
    const listed = await explain({ filter: { _id: { $in: ['a1', 'b1'] } }, sort: { _id: -1 } });
    expect(listed).toMatchObject({ filterPushdown: true, sortPushdown: true });
    // A sort without a string _id filter is left to the handler (an _id of any type could come back).
    expect(await explain({ filter: {}, sort: { _id: 1 } })).toMatchObject({
      filterPushdown: false,
      sortPushdown: false,
    });
    expect(await explain({ filter: { _id: { $gte: 0 } }, sort: { _id: 1 } })).toMatchObject({
      filterPushdown: false,
      sortPushdown: false,
    });
  });
});
