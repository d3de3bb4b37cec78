import { defineConfig } from 'vite';

/**
 * The merchant dashboard's browser app (docs/dashboard.md), built by `npm run build` (run from the project root)
 * into dist/dashboard-ui and served by the API under /dashboard (src/http/dashboard/static.ts). JSX is compiled by
 * Vite's own transformer for Preact, without the Babel-based preset, so the build stays a few seconds long in CI.
 */
export default defineConfig({
  root: 'src/dashboard-ui',
  base: '/dashboard/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../../dist/dashboard-ui',
    emptyOutDir: true,
    // The pages' Content-Security-Policy allows same-origin scripts only: no inline polyfill.
    modulePreload: { polyfill: false },
    // Chart.js is most of the bundle: one hashed file, cached for good, so the default size warning is noise.
    chunkSizeWarningLimit: 400,
    reportCompressedSize: false,
  },
});
