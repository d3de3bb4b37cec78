import { type Collection, type Db, MongoServerError } from 'mongodb';
import { RateLimiterMongo } from 'rate-limiter-flexible';

/** Every limiter shares one collection; each keeps its own `keyPrefix` in the document ids. */
export const RATE_LIMITS_COLLECTION = 'rate_limits';

interface LimitDoc {
  _id: string;
  points: number;
  /** End of the current window (or of a block); null for a window that never ends. */
  expire: Date | null;
}

export type LimiterOptions = Omit<
  ConstructorParameters<typeof RateLimiterMongo>[0],
  'storeClient' | 'tableName' | 'dbName' | 'disableIndexesCreation'
>;

const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;
// Each pass ends with a window opened or counted unless another process reopened it in between; a few passes is plenty.
const MAX_PASSES = 5;

/**
 * rate-limiter-flexible's MongoDB limiter, with its store calls keyed by `_id` so that it works, and stays cheap,
 * on FerretDB (docs/authentication.md, "Throttling"). The library's own store keeps each counter under a `key`
 * field and relies on a TTL index to drop expired windows. FerretDB's SQLite backend refuses TTL indexes (the
 * library then never creates its unique index either, so expired windows pile up as duplicates) and answers every
 * query not on `_id` with a full collection scan. Here a counter is the document whose `_id` is the limiter key,
 * an expired window is reopened in place, and the library keeps doing what it is for: points, windows, blocks,
 * the in-memory block in front of the store, and `RateLimiterRes` with the time to wait.
 */
export class RateLimiterMongoById extends RateLimiterMongo {
  private readonly limits: Collection<LimitDoc>;

  constructor(db: Db, options: LimiterOptions) {
    super({ ...options, storeClient: db, tableName: RATE_LIMITS_COLLECTION, disableIndexesCreation: true });
    this.limits = db.collection<LimitDoc>(RATE_LIMITS_COLLECTION);
  }

  /** Nothing to create: the `_id` index is all the counters use. */
  override async createIndexes(): Promise<void> {}

  /** The library's store contract: add `points` in the open window, or open a new one; resolve the document. */
  async _upsert(rlKey: string, points: number, msDuration: number, forceExpire = false): Promise<LimitDoc> {
    const windowEnd = () => (msDuration > 0 ? new Date(Date.now() + msDuration) : null);
    if (forceExpire) {
      const set = await this.limits.findOneAndUpdate(
        { _id: rlKey },
        { $set: { points, expire: windowEnd() } },
        { upsert: true, returnDocument: 'after' },
      );
      return set!;
    }
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const now = new Date();
      const counted = await this.limits.findOneAndUpdate(
        { _id: rlKey, $or: [{ expire: { $gt: now } }, { expire: null }] },
        { $inc: { points } },
        { returnDocument: 'after' },
      );
      if (counted) return counted;
      const opened: LimitDoc = { _id: rlKey, points, expire: windowEnd() };
      try {
        await this.limits.insertOne(opened);
        return opened;
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
      // The document exists, so its window had ended at `now` (no TTL index removes it): reopen it, unless another
      // process has just done so, in which case the next pass counts in that window.
      const reopened = await this.limits.findOneAndUpdate(
        { _id: rlKey, expire: { $lte: now } },
        { $set: { points, expire: windowEnd() } },
        { returnDocument: 'after' },
      );
      if (reopened) return reopened;
    }
    throw new Error(`rate limit counter ${rlKey} kept changing under us`);
  }

  async _get(rlKey: string): Promise<LimitDoc | null> {
    return this.limits.findOne({ _id: rlKey, $or: [{ expire: { $gt: new Date() } }, { expire: null }] });
  }

  async _delete(rlKey: string): Promise<boolean> {
    return (await this.limits.deleteOne({ _id: rlKey })).deletedCount > 0;
  }
}
