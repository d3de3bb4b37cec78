import { ensureAllBinaries } from './binaries';

// `npm run servers:build`: builds (or confirms up to date) the Go-built Temporal CLI and FerretDB launcher.
ensureAllBinaries().then(
  (paths) => console.log(`[build] ready: ${paths.temporal}, ${paths.ferretdb}`),
  (err: unknown) => {
    console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
