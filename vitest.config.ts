import { defineConfig } from 'vitest/config';

// Two cores: two forked workers, each with its own migrated database (fillpath_test_<n>) and Redis DB index <n>.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    globalSetup: ['tests/setup/global-setup.ts'],
    setupFiles: ['tests/setup/per-file.ts'],
    // Real MariaDB and Redis: generous, but a hung query still fails the test instead of the run.
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
