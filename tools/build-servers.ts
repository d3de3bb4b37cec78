import { ensureAllBinaries, ensureClusterBinaries, ensureJaegerBinary, ensureObservabilityBinaries } from './binaries';

// `npm run servers:build`: builds (or confirms up to date) the Go-built Temporal CLI, FerretDB launcher and
// stripe-mock (the tests' Stripe API simulator), then the cluster profile's Temporal server, schema tool and Web UI
// server (tools/temporal-cluster.ts), then Prometheus's promtool and server (the rules of deploy/observability),
// and Jaeger, the optional trace backend (docs/tracing.md).
async function main(): Promise<void> {
  const started = Date.now();
  const paths = await ensureAllBinaries();
  console.log(`[build] ready: ${paths.temporal}, ${paths.ferretdb}, ${paths.stripeMock}`);
  const cluster = await ensureClusterBinaries();
  console.log(`[build] cluster profile ready: ${cluster.server}, ${cluster.sqlTool}, ${cluster.uiServer}`);
  const observability = await ensureObservabilityBinaries();
  console.log(`[build] observability ready: ${observability.promtool}, ${observability.prometheus}`);
  const jaeger = await ensureJaegerBinary();
  console.log(`[build] trace backend ready: ${jaeger}`);
  console.log(`[build] all servers ready in ${Math.round((Date.now() - started) / 1000)}s`);
}

main().catch((err: unknown) => {
  console.error(`[build] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
