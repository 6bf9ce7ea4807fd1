import { defineConfig } from 'vitest/config';

// Integration tests start real daemons (munge, slurmctld, slurmd, anvil):
// they run one file at a time so two clusters never race for ports or /var/run.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
