/**
 * Two projects: `unit` needs nothing running; `integration` runs against the real stack (Temporal dev server,
 * FerretDB, worker, API) started once by test/support/global-setup.ts with the same code as `npm start`.
 */
const transform = { '^.+\\.ts$': ['@swc/jest'] };

/** @type {import('jest').Config} */
module.exports = {
  testTimeout: 60_000,
  maxWorkers: 2,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/{unit,replay}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/{api,workflow,platform,browser}/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      // Its own stack, whose servers it kills and restarts: never shared with other suites.
      displayName: 'chaos',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/chaos/**/*.test.ts'],
    },
  ],
};
