import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { Collection } from 'mongodb';

/**
 * Evidence for "where a payment's CPU goes" (BENCHMARKS.md, "Where a payment's CPU goes"), loaded into every Node
 * process of a stack with `NODE_OPTIONS="--require ./dist/bench/profile-preload.js"` (Node refuses `--cpu-prof` in
 * NODE_OPTIONS, and a whole-life profile would mix start-up with the load). Two signals, sent to the processes
 * to look at, bracket the load:
 *
 * - SIGWINCH starts V8's sampling profiler; the next SIGWINCH writes `<script>-<pid>.cpuprofile` (Chrome DevTools
 *   reads it) to PROFILE_DIR. Not SIGUSR2: the Temporal worker shuts down on it.
 * - SIGURG writes `<script>-<pid>.store-ops.json`, the store operations the process has issued since the last
 *   SIGURG, by collection and method (a `findOne` is counted once, not again as the `find` it makes).
 *
 * Both signals are ignored by default, so a process without this file loaded is not harmed by them.
 */
const dir = process.env.PROFILE_DIR ?? process.cwd();
const name = `${path.basename(process.argv[1] ?? 'node', '.js')}-${process.pid}`;

let session: Session | undefined;
process.on('SIGWINCH', () => {
  if (!session) {
    session = new Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 500 });
    session.post('Profiler.start');
    return;
  }
  const running = session;
  session = undefined;
  running.post('Profiler.stop', (err, result) => {
    if (!err) writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(result.profile));
    running.disconnect();
  });
});

const counts = new Map<string, number>();
let inside = 0;
const METHODS = [
  'find',
  'findOne',
  'insertOne',
  'insertMany',
  'updateOne',
  'updateMany',
  'replaceOne',
  'deleteOne',
  'deleteMany',
  'findOneAndUpdate',
  'findOneAndDelete',
  'aggregate',
  'countDocuments',
  'bulkWrite',
] as const;
for (const method of METHODS) {
  const original = Reflect.get(Collection.prototype, method) as (this: Collection, ...args: unknown[]) => unknown;
  Object.defineProperty(Collection.prototype, method, {
    configurable: true,
    writable: true,
    value: function (this: Collection, ...args: unknown[]) {
      // Only the outermost call: findOne is a find, findOneAndUpdate a command, insertOne a bulk write inside.
      if (inside === 0) {
        const key = `${this.collectionName}.${method}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      inside++;
      try {
        return original.apply(this, args);
      } finally {
        inside--;
      }
    },
  });
}
process.on('SIGURG', () => {
  writeFileSync(path.join(dir, `${name}.store-ops.json`), `${JSON.stringify(Object.fromEntries(counts), null, 1)}\n`);
  counts.clear();
});
