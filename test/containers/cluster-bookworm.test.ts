// The slurm-in-docker cluster of Debian 12 (bookworm, SLURM 22.05.8): its own
// packages, the gridlink .deb built on this host (scripts/build-deb.sh) and
// a nodejs 20 .deb packed from the host's node. The cases: cluster-suite.ts.
import { describeContainerCluster } from './cluster-suite.js';

await describeContainerCluster('bookworm', '22.05.8');
