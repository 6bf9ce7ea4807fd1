import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { LANE_TEST_OPTIONS, SLURM_LANE_TEST_FILES } from './test/lanes.js';

// The "slurm" lane: exactly test/lanes.ts's SLURM_LANE_TEST_FILES, SLURM
// clusters in cluster slot 1 (scripts/run-tests.mjs sets GRIDLINK_CLUSTER_SLOT)
// beside the cluster lane's in slot 0. Serial within itself like the others.
const missing = SLURM_LANE_TEST_FILES.filter((f) => !existsSync(f));
if (missing.length) throw new Error(`test/lanes.ts lists files that do not exist: ${missing.join(', ')}`);

export default defineConfig({
  test: {
    include: [...SLURM_LANE_TEST_FILES],
    ...LANE_TEST_OPTIONS,
    globalSetup: [...LANE_TEST_OPTIONS.globalSetup],
    reporters: [...LANE_TEST_OPTIONS.reporters],
  },
});
