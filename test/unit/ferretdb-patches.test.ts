import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findGo, ferretdbPatches, ferretdbVersion, projectRoot } from '../../tools/binaries';

/**
 * The local FerretDB is built with our patches (tools/ferretdb/patches): without them its SQLite backend scans the
 * whole collection on every `_id` lookup. A patch that no longer applies fails the server build; this says so
 * earlier, and checks that the patched `_id` expression is spelled exactly like the index FerretDB creates (SQLite
 * uses an expression index only for the identical expression). It needs the pinned FerretDB source in the Go
 * module cache (any earlier `npm run servers:build` put it there) and skips its source checks otherwise.
 */

function pinnedSource(): string | undefined {
  let go: string;
  try {
    go = findGo();
  } catch {
    return undefined;
  }
  // GOPROXY=off: only the module cache, never the network, from a unit test.
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOPROXY: 'off', GOFLAGS: '-mod=readonly' };
  const out = spawnSync(go, ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${ferretdbVersion()}`], {
    cwd: path.join(projectRoot, 'tools', 'ferretdb'),
    env,
    encoding: 'utf8',
  });
  if (out.status !== 0) return undefined;
  return (JSON.parse(out.stdout) as { Dir?: string }).Dir;
}

describe('FerretDB patches', () => {
  const patches = ferretdbPatches();

  it('are unified diffs with git paths, taken in name order', () => {
    expect(patches.length).toBeGreaterThan(0);
    expect(patches.map((p) => path.basename(p))).toEqual(patches.map((p) => path.basename(p)).sort());
    for (const patch of patches) expect(readFileSync(patch, 'utf8')).toMatch(/^diff --git a\/\S+ b\/\S+$/m);
  });

  const source = pinnedSource();
  (source ? it : it.skip)('apply to the pinned FerretDB source and make _id queries use the _id index', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ferretdb-patches-'));
    const copy = path.join(dir, 'src');
    try {
      cpSync(source!, copy, { recursive: true });
      spawnSync('chmod', ['-R', 'u+w', copy]);
      const applied = spawnSync('git', ['apply', ...patches], {
        cwd: copy,
        env: { ...process.env, GIT_CEILING_DIRECTORIES: dir },
        encoding: 'utf8',
      });
      expect(applied.stderr).toBe('');
      expect(applied.status).toBe(0);

      const backend = path.join(copy, 'internal', 'backends', 'sqlite');
      // The index: `CREATE UNIQUE INDEX … (_ferretdb_sjson->"_id")`, fields quoted with %q.
      expect(readFileSync(path.join(backend, 'metadata', 'registry.go'), 'utf8')).toContain(
        'columns[i] = fmt.Sprintf("%s->%s", DefaultColumn, strings.Join(fields, "->"))',
      );
      expect(readFileSync(path.join(backend, 'metadata', 'metadata.go'), 'utf8')).toContain(
        'IDColumn = DefaultColumn + `->"_id"`',
      );
      // The _id pushdown no longer needs _id to be the filter's only key.
      const collection = readFileSync(path.join(backend, 'collection.go'), 'utf8');
      expect(collection).not.toContain('params.Filter.Len() == 1');
      // Query and Explain share one _id pushdown (equality, string ranges, $in of strings) and one _id sort, so
      // that explain reports what find does.
      expect(collection.match(/pushdownID\(params\.Filter\)/g)).toHaveLength(2);
      expect(collection.match(/idOrderBy\(params\.IDSort, meta\.Capped\(\), pushed\)/g)).toHaveLength(2);
      // A lower bound drops the closing quote (`"b!"` sorts below `"b"` as JSON text but above "b" as a string).
      const pushdown = readFileSync(path.join(backend, 'id_pushdown.go'), 'utf8');
      expect(pushdown).toContain('args = append(args, `"`+b)');
      expect(pushdown).toContain('args = append(args, `"`+b+`"`)');
      // The handler skips its in-memory sort only for rows the backend says it ordered, and checks that order.
      const find = readFileSync(path.join(copy, 'internal', 'handler', 'msg_find.go'), 'utf8');
      expect(find).toContain('if res.SortedByID {');
      expect(find).toContain('newIDOrderIterator(');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
