// each-slurm.ts - run a block of plugin tests on every SLURM of slurmTargets(),
// with one plugin cluster per SLURM shared by the block's tests.
import { afterAll, beforeAll, describe } from 'vitest';

import { PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';
import { prepareSlurm, slurmTargets, startPluginCluster, type PluginCluster, type SlurmTarget } from './with-plugins.js';

export interface OnSlurm {
  readonly slurm: SlurmTarget;
  /** The block's cluster, running while its tests run. */
  readonly pc: PluginCluster;
}

/** describe.each over the SLURM targets; `$version` in `title` names the version. */
export function describeEachSlurm(title: string, opts: Parameters<typeof startPluginCluster>[0], body: (on: OnSlurm) => void): void {
  describe.each(slurmTargets())(title, (slurm) => {
    let pc: PluginCluster | undefined;
    beforeAll(() => prepareSlurm(slurm), PREPARE_TIMEOUT_MS);
    beforeAll(async () => {
      pc = await startPluginCluster({ ...opts, slurm });
    });
    afterAll(async () => {
      await pc?.cluster.stop();
    });
    body({
      slurm,
      get pc() {
        if (!pc) throw new Error(`no cluster: starting SLURM ${slurm.version} failed (see beforeAll)`);
        return pc;
      },
    });
  });
}
