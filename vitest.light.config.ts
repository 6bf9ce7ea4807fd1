import { defineConfig } from 'vitest/config';
import { LIGHT_TEST_FILES, listedLaneTestOptions } from './test/lanes.js';

// The "light" lane: exactly the files of test/lanes.ts (anvil, in-process
// servers, munge, the slurm-in-docker suites; no host SLURM, SSSD, LDAP
// servers, devnet). Serial within itself like the cluster and slurm lanes
// (vitest.config.ts, vitest.slurm.config.ts), which `npm test`
// (scripts/run-tests.mjs) runs at the same time.
export default defineConfig({ test: listedLaneTestOptions(LIGHT_TEST_FILES) });
