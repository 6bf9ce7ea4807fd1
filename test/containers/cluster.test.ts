// The slurm-in-docker cluster of Debian 13 (trixie, SLURM 24.11.5, Node 20),
// compose.yaml's default: its own packages, the gridlink .deb built inside a
// trixie container (scripts/container-deb.sh). The cases: cluster-suite.ts,
// then the plugin acceptance cases (test/plugins/cases/) against trixie's
// slurmctld and slurmd in the same cluster start.
import { describeContainerCluster } from './cluster-suite.js';

await describeContainerCluster('trixie', '24.11.5', { acceptance: true });
