// A bad spool never hurts SLURM (the cases: cases/failure-modes.ts), each on
// a cluster of its own.
import { afterEach, describe } from 'vitest';

import { failureModeCases } from './cases/failure-modes.js';
import { slurmTargets, startPluginCluster, type PluginCluster } from './with-plugins.js';

let pc: PluginCluster | undefined;
afterEach(async () => {
  await pc?.cluster.stop();
  pc = undefined;
});

describe.each(slurmTargets())('failure modes on SLURM $version', (slurm) => {
  failureModeCases(async ({ jobCompOptions, spankOptions, unwritableSpools }) => {
    pc = await startPluginCluster({
      slurm,
      ...(jobCompOptions ? { jobCompOptions } : {}),
      ...(spankOptions ? { spankOptions } : {}),
      ...(unwritableSpools ? { ctldSpool: '/proc/gridlink/slurmctld', nodeSpool: '/proc/gridlink/slurmd' } : {}),
    });
    return pc;
  });
});
