import { readFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../src/config';
import { payments } from '../src/store/payment-records';

/**
 * The store's own `_id` read rate, the baseline that status reads are judged against (BENCHMARKS.md, "Method"): a
 * bare driver loop, in a process of its own as the API is, with the API's client settings and as many reads in
 * flight as the status scenario has connections, each `findOne({_id})` of a payment record the status scenario
 * reads. No HTTP, no auth, no envelope: what is left is the driver and the server.
 *
 * Environment: the stack's (MONGODB_URL, MONGODB_DB), BENCH_READER_KEYS (a JSON file: the payment keys to read),
 * BENCH_READER_CONNECTIONS, BENCH_READER_SECONDS. Prints one JSON line: `{"reads":N,"errors":N,"seconds":S}`.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const keys = JSON.parse(readFileSync(process.env.BENCH_READER_KEYS ?? '', 'utf8')) as string[];
  const inFlight = Number(process.env.BENCH_READER_CONNECTIONS ?? 16);
  const seconds = Number(process.env.BENCH_READER_SECONDS ?? 10);
  if (keys.length === 0 || !(inFlight > 0) || !(seconds > 0)) throw new Error('store-reader: nothing to read');

  // The API's client settings (src/main.ts), so the pool and the wire are the same.
  const client = new MongoClient(config.mongo.url, {
    appName: 'settleflow-bench-store-reader',
    serverSelectionTimeoutMS: 5000,
    retryWrites: false,
  });
  await client.connect();
  const records = payments(client.db(config.mongo.dbName));
  // Warm the pool to the concurrency the loop uses, as the API's is after its warm-up requests.
  await Promise.all(keys.slice(0, inFlight).map((key) => records.findOne({ _id: key })));

  let reads = 0;
  let errors = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  const loop = async () => {
    while (Date.now() < deadline) {
      const key = keys[next++ % keys.length]!;
      try {
        if (await records.findOne({ _id: key })) reads++;
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ reads, errors, seconds: Math.round(elapsed * 1000) / 1000 })}\n`);
  await client.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`store-reader: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
