// The slurm-in-docker cluster of Debian 13 (trixie, SLURM 24.11.5, Node 20),
// compose.yaml's default: its own packages, the gridlink .deb built inside a
// trixie container (scripts/container-deb.sh). The cases: cluster-suite.ts.
import { describeContainerCluster } from './cluster-suite.js';

await describeContainerCluster('trixie', '24.11.5');
