// The slurm-in-docker cluster of SLURM 26.05 on Debian sid (forky/sid: Node
// 24, libnode137): sid's own packages but for SLURM, which is upstream
// 26.05.3 built inside a sid container (sid's slurm-wlm 26.05.5 has no
// source to build jobcomp_provider.so against: its .dsc and orig tarball
// answer 404; contrib/container/releases), packed as slurm-upstream-26.05.3;
// the gridlink .deb built inside sid against it (scripts/container-deb.sh
// sid). The cases: cluster-suite.ts, then the plugin acceptance cases
// (test/plugins/cases/): the only run of the plugins on SLURM 26.05 daemons.
import { describeContainerCluster } from './cluster-suite.js';

await describeContainerCluster('sid', '26.05.3', { acceptance: true, daemons: "upstream's slurmctld and slurmd, built in the sid container" });
