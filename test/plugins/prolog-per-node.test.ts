// A job on two nodes: one prolog and one epilog record per node, one
// completion (the cases: cases/prolog-per-node.ts). Both slurmd run on this
// host and append to the same node spool (several writer processes).
import { prologPerNodeCases } from './cases/prolog-per-node.js';
import { describeEachSlurm } from './each-slurm.js';

describeEachSlurm('spank/provider and jobcomp/provider on a two-node SLURM $version cluster', { nodes: 2 }, prologPerNodeCases);
