import { configDefaults, defineConfig } from 'vitest/config';
import { LANE_TEST_OPTIONS, LIGHT_TEST_FILES, SLURM_LANE_TEST_FILES } from './test/lanes.js';

// The "cluster" lane. Integration tests start real daemons (munge, slurmctld,
// slurmd, SSSD, LDAP servers, the devnet, anvil): they run one file at a time.
// The files test/lanes.ts puts in the "light" lane (vitest.light.config.ts)
// and the "slurm" lane (vitest.slurm.config.ts, SLURM clusters in a slot of
// their own) are excluded here: `npm test` (scripts/run-tests.mjs) runs the
// three lanes at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...LIGHT_TEST_FILES, ...SLURM_LANE_TEST_FILES],
    ...LANE_TEST_OPTIONS,
    globalSetup: [...LANE_TEST_OPTIONS.globalSetup],
    reporters: [...LANE_TEST_OPTIONS.reporters],
  },
});
