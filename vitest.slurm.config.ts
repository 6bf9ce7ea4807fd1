import { defineConfig } from 'vitest/config';
import { listedLaneTestOptions, SLURM_LANE_TEST_FILES } from './test/lanes.js';

// The "slurm" lane: exactly test/lanes.ts's SLURM_LANE_TEST_FILES, SLURM
// clusters in cluster slot 1 (scripts/run-tests.mjs sets GRIDLINK_CLUSTER_SLOT)
// beside the cluster lane's in slot 0. Serial within itself like the others.
export default defineConfig({ test: listedLaneTestOptions(SLURM_LANE_TEST_FILES) });
