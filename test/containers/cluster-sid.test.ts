// The slurm-in-docker cluster of SLURM 26.05 on Debian sid (forky/sid: Node
// 24, libnode137): sid's own packages but for SLURM, which is upstream
// 26.05.3 built inside a sid container (sid's slurm-wlm 26.05.5 has no
// source to build jobcomp_provider.so against: its .dsc and orig tarball
// answer 404; contrib/container/releases), packed as slurm-upstream-26.05.3;
// the gridlink .deb built inside sid against it (scripts/container-deb.sh
// sid). The cases: cluster-suite.ts, then the plugin acceptance cases
// (test/plugins/cases/): the only run of the plugins on SLURM 26.05 daemons.
// Skipped, saying so, without upstream's 26.05.3 tarball (../shared/slurm/next).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describe, it } from 'vitest';

import { skipReason } from '../helpers/skip-reason.js';
import { slurmTarballs } from '../plugins/with-plugins.js';
import { describeContainerCluster } from './cluster-suite.js';

const VERSION = '26.05.3';
const tarball = ['.', 'next'].map((d) => join(slurmTarballs, d, `slurm-${VERSION}.tar.xz`)).find((t) => existsSync(t));

if (tarball) await describeContainerCluster('sid', VERSION, { acceptance: true, daemons: "upstream's slurmctld and slurmd, built in the sid container" });
else {
  const why = `no slurm-${VERSION}.tar.xz in ${slurmTarballs} or its next/ (SLURM_TARBALLS): the sid image builds SLURM ${VERSION} from it`;
  console.log(`SKIP test/containers/cluster-sid.test.ts: ${why}`);
  describe.skip(`slurm-in-docker cluster of Debian sid (SLURM ${VERSION})${skipReason(false, why)}`, () => {
    it('runs', () => undefined);
  });
}
