import { ensureAllBinaries } from './binaries';

// `npm run servers:build`: builds (or confirms up to date) the Go-built Temporal CLI, FerretDB launcher and
// stripe-mock (the tests' Stripe API simulator).
ensureAllBinaries().then(
  (paths) => console.log(`[build] ready: ${paths.temporal}, ${paths.ferretdb}, ${paths.stripeMock}`),
  (err: unknown) => {
    console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
