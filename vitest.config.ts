import { configDefaults, defineConfig } from 'vitest/config';
import { LANE_TEST_OPTIONS, LIGHT_TEST_FILES } from './test/lanes.js';

// The "cluster" lane. Integration tests start real daemons (munge, slurmctld,
// slurmd, SSSD, LDAP servers, the devnet, anvil): they run one file at a time
// so two clusters never race for ports or /var/run. The files listed in
// test/lanes.ts (the "light" lane, vitest.light.config.ts) are excluded here:
// `npm test` (scripts/run-tests.mjs) runs both lanes at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...LIGHT_TEST_FILES],
    ...LANE_TEST_OPTIONS,
    globalSetup: [...LANE_TEST_OPTIONS.globalSetup],
    reporters: [...LANE_TEST_OPTIONS.reporters],
  },
});
