import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { LANE_TEST_OPTIONS, LIGHT_TEST_FILES } from './test/lanes.js';

// The "light" lane: exactly the files of test/lanes.ts (anvil, in-process
// servers, munge; no SLURM, SSSD, LDAP servers, devnet, containers). Serial
// within itself like the cluster lane (vitest.config.ts), which `npm test`
// (scripts/run-tests.mjs) runs at the same time.
// A renamed or deleted file must not silently drop out of both lanes' view.
const missing = LIGHT_TEST_FILES.filter((f) => !existsSync(f));
if (missing.length) throw new Error(`test/lanes.ts lists files that do not exist: ${missing.join(', ')}`);

export default defineConfig({
  test: {
    include: [...LIGHT_TEST_FILES],
    ...LANE_TEST_OPTIONS,
    globalSetup: [...LANE_TEST_OPTIONS.globalSetup],
    reporters: [...LANE_TEST_OPTIONS.reporters],
  },
});
