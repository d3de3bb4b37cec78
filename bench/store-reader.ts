import { readFileSync, writeFileSync } from 'node:fs';
import { MongoClient } from 'mongodb';
import { loadConfig } from '../src/config';
import { payments } from '../src/store/payment-records';
import { type LoadResult, summarize } from './load';

/**
 * The store's own `_id` read rate, the baseline that status reads are judged against (BENCHMARKS.md, "Method"): a
 * bare driver loop, in a process of its own as the API is, with the API's client settings and as many reads in
 * flight as the status scenario has connections, each `findOne({_id})` of a payment record the status scenario
 * reads. No HTTP, no auth, no envelope: what is left is the driver and the server.
 *
 * Environment: the stack's (MONGODB_URL, MONGODB_DB), BENCH_READER_KEYS (a JSON file: the payment keys to read),
 * BENCH_READER_CONNECTIONS, BENCH_READER_SECONDS, BENCH_READER_RESULT (where the closed-model LoadResult goes, as
 * the HTTP scenarios report theirs: a read that found nothing counts as an error).
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

  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const key = keys[next++ % keys.length]!;
      const sent = performance.now();
      try {
        if (await records.findOne({ _id: key })) latencies.push(performance.now() - sent);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  const durationS = (performance.now() - started) / 1000;
  const result: LoadResult = {
    model: 'closed',
    connections: inFlight,
    durationS: Math.round(durationS * 1000) / 1000,
    sent: latencies.length + errors,
    achievedRate: Math.round((latencies.length / durationS) * 100) / 100,
    completed: latencies.length,
    throughput: Math.round((latencies.length / durationS) * 100) / 100,
    latencyMs: summarize(latencies),
    errors,
    errorKinds: errors > 0 ? { 'not found or failed': errors } : {},
  };
  writeFileSync(process.env.BENCH_READER_RESULT ?? '', `${JSON.stringify(result)}\n`);
  await client.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`store-reader: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
