import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { type Db, MongoClient, ObjectId } from 'mongodb';
import { applyProjection, findPayment, insertPayment, type PaymentDoc } from '../../src/store/payment-records';
import {
  backfillListing,
  listPayments,
  type Owner,
  paymentsOfUid,
  recordListing,
} from '../../src/store/payment-listing';
import { findReference, recordReference } from '../../src/store/references';
import { paymentKey } from '../../workflows/vocabulary';
import { ensureBinary, ferretdbSpec, projectRoot } from '../../tools/binaries';
import { freePort } from '../../tools/ports';
import { type Postgres, startPostgres } from '../../tools/postgres';
import type { ManagedProcess } from '../../tools/process';
import { FERRETDB_POSTGRES_DATABASE, startFerretdb } from '../../tools/servers';
import { capturedPaymentDoc } from '../support/payment-docs';

/**
 * FerretDB's PostgreSQL backend (FERRETDB_BACKEND=postgresql, docs/ferretdb-backends.md) end to end: a PostgreSQL
 * and a FerretDB of this file's own, and the store's real code on them — a payment recorded and listed as the
 * workflow's first step does, read back as the status paths read it (by Tid, by Reference), the projection's
 * sequence guard, the dashboard's lists and Uid search with their cursors and filters, the listing backfill. The
 * lists are `_id` ranges sorted on `_id`, which patch 0003 pushes down on SQLite only: here FerretDB filters and
 * sorts them itself, and must still answer as MongoDB does. Plans and explain stay SQLite-only
 * (test/platform/payment-listing.test.ts).
 */
const dir = path.join(projectRoot, '.data', 'test', `ferretdb-postgresql-${process.pid}`);
let postgres: Postgres;
let ferretdb: ManagedProcess;
let client: MongoClient;
let db: Db;

beforeAll(async () => {
  const binary = await ensureBinary(ferretdbSpec, () => undefined);
  postgres = await startPostgres({
    dir: path.join(dir, 'postgres'),
    dataRoot: dir,
    logDir: path.join(dir, 'logs'),
    log: () => undefined,
  });
  const url = `mongodb://127.0.0.1:${await freePort()}/`;
  ferretdb = await startFerretdb({ mongo: { url }, dataDir: dir }, binary, { backend: 'postgresql', postgres });
  client = new MongoClient(url, { retryWrites: false });
  db = client.db('settleflow_pg');
}, 120_000);

afterAll(async () => {
  await client?.close();
  await ferretdb?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const BASE = Date.UTC(2030, 0, 1);

/** The n-th payment of a test: a minute after the one before, its amount telling them apart. */
function paymentDoc(owner: Owner, tid: string, n: number, fields: Partial<PaymentDoc> = {}): PaymentDoc {
  return capturedPaymentDoc(owner, tid, new Date(BASE + n * 60_000), { amount: 1000 + n, ...fields });
}

/** As the payment workflow's first step records a payment: its record, its Reference, its listing documents. */
async function record(doc: PaymentDoc): Promise<PaymentDoc> {
  await insertPayment(db, doc);
  await recordReference(db, {
    _id: doc.reference,
    kind: 'payment',
    paymentKey: doc._id,
    merchantId: doc.merchantId,
    mode: doc.mode,
  });
  await recordListing(db, doc);
  return doc;
}

const newOwner = (): Owner => ({ merchantId: `mer_pg${randomUUID().slice(0, 8)}`, mode: 'test' });

describe("FerretDB's PostgreSQL backend", () => {
  it("keeps the documents in PostgreSQL's ferretdb database, and its password off FerretDB's command line", async () => {
    const owner = newOwner();
    await record(paymentDoc(owner, 'where-1', 1));
    // FerretDB keeps each MongoDB database as a schema of its own, a table per collection.
    const tables = await postgres.query(
      FERRETDB_POSTGRES_DATABASE,
      "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'settleflow_pg' AND table_name LIKE 'payments%'",
    );
    expect(Number(tables)).toBeGreaterThan(0);
    const commandLine = readFileSync(`/proc/${ferretdb.child.pid}/cmdline`, 'utf8');
    expect(commandLine).toContain('postgresql');
    expect(commandLine).not.toContain(postgres.password);
  });

  it('answers the status reads: by Tid, by Reference, and nothing for another merchant', async () => {
    const owner = newOwner();
    const paid = await record(paymentDoc(owner, 'status-1', 1));
    await record(paymentDoc(owner, 'status-2', 2));
    // A retried first step changes nothing.
    await record(paid);

    expect(await findPayment(db, paymentKey('test', owner.merchantId, 'status-1'))).toMatchObject({
      tid: 'status-1',
      reference: paid.reference,
      amount: 1001,
    });
    expect(await findPayment(db, paymentKey('test', owner.merchantId, 'status-absent'))).toBeNull();
    const ref = await findReference(db, paid.reference, owner);
    expect(ref?.paymentKey).toBe(paid._id);
    expect(await findReference(db, paid.reference, { ...owner, merchantId: 'mer_someoneelse' })).toBeUndefined();
  });

  it("applies the projection's sequence guard: a retried or overtaken write changes nothing", async () => {
    const owner = newOwner();
    const doc = await record(paymentDoc(owner, 'seq-1', 1, { status: 'pending', seq: 0 }));
    expect(await applyProjection(db, doc._id, 2, { status: 'captured' })).toBe(true);
    expect(await applyProjection(db, doc._id, 2, { status: 'failed' })).toBe(false);
    expect(await applyProjection(db, doc._id, 1, { status: 'authorized' })).toBe(false);
    expect(await findPayment(db, doc._id)).toMatchObject({ status: 'captured', seq: 2 });
  });

  it('lists newest first with cursors, filters by status, searches by Uid, and backfills', async () => {
    const owner = newOwner();
    const statuses: PaymentDoc['status'][] = ['captured', 'failed', 'captured', 'pending', 'failed'];
    const made: PaymentDoc[] = [];
    for (let n = 0; n < 30; n++)
      made.push(
        await record(
          paymentDoc(owner, `list-${n}`, n, { status: statuses[n % statuses.length]!, uid: n % 3 === 0 ? 'a:b' : 'c' }),
        ),
      );
    const newest = [...made].reverse();
    const tids = (page: { payments: { tid: string }[] }) => page.payments.map((p) => p.tid);

    const first = await listPayments(db, owner, {}, null, 10);
    expect(tids(first)).toEqual(newest.slice(0, 10).map((p) => p.tid));
    const second = await listPayments(db, owner, {}, first.next, 10);
    expect(tids(second)).toEqual(newest.slice(10, 20).map((p) => p.tid));
    const third = await listPayments(db, owner, {}, second.next, 10);
    expect(tids(third)).toEqual(newest.slice(20).map((p) => p.tid));
    expect(third.next).toBeNull();

    const failed = await listPayments(db, owner, { statuses: ['failed'] }, null, 25);
    expect(tids(failed)).toEqual(newest.filter((p) => p.status === 'failed').map((p) => p.tid));
    const ofUid = await paymentsOfUid(db, owner, 'a:b', null, 25);
    expect(tids(ofUid)).toEqual(newest.filter((p) => p.uid === 'a:b').map((p) => p.tid));
    expect((await listPayments(db, { ...owner, mode: 'live' }, {}, null, 10)).payments).toEqual([]);

    // A payment made before the listing existed: listed by the backfill, once.
    const older = paymentDoc(owner, 'before-listing', -1);
    await insertPayment(db, older);
    expect(await backfillListing(db)).toBeGreaterThanOrEqual(1);
    expect(await backfillListing(db)).toBe(0);
    const all = await listPayments(db, owner, {}, null, 50);
    expect(tids(all).at(-1)).toBe('before-listing');
    expect(all.payments).toHaveLength(31);
  });

  it('answers string _id ranges, $in and sorts on _id as MongoDB does', async () => {
    const coll = db.collection<{ _id: unknown; n: number }>(`ranges_${randomUUID().replace(/-/g, '')}`);
    await coll.insertMany([
      { _id: 'a1', n: 1 },
      { _id: 'a3', n: 3 },
      { _id: 'a2', n: 2 },
      { _id: 'a b', n: 0 },
      { _id: 'b1', n: 4 },
      { _id: 'A1', n: 5 },
      { _id: new ObjectId('a1b2c3d4e5f60718293a4b5c'), n: 6 },
      { _id: 42, n: 7 },
      { _id: 'zz', n: 9 },
      { _id: 'zz!', n: 10 },
    ]);
    const ids = async (filter: object, sort?: 1 | -1, limit = 0) => {
      let cursor = coll.find(filter);
      if (sort) cursor = cursor.sort({ _id: sort });
      return (await cursor.limit(limit).toArray()).map((d) => d._id);
    };
    expect(await ids({ _id: { $gte: 'a', $lt: 'b' } }, 1)).toEqual(['a b', 'a1', 'a2', 'a3']);
    expect(await ids({ _id: { $gt: 'a1', $lte: 'b1' } }, -1, 2)).toEqual(['b1', 'a3']);
    expect(await ids({ _id: { $gte: '0', $lt: 'z' } }, 1)).toEqual(['A1', 'a b', 'a1', 'a2', 'a3', 'b1']);
    expect(await ids({ _id: { $in: ['b1', 'a2', 'zz', 'a b'] } }, 1)).toEqual(['a b', 'a2', 'b1', 'zz']);
    // The keys SQLite's `_id` sort pushdown refuses (their JSON text sorts otherwise): sorted in memory here.
    expect(await ids({ _id: { $gte: 'zz', $lt: 'zz~' } }, 1)).toEqual(['zz', 'zz!']);
    expect(await ids({ _id: { $gte: 0 } }, 1)).toEqual([42]);
  });
});
