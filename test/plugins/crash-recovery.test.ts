// Records written before the hook returned survive kill -9 of slurmctld (the case: cases/crash-recovery.ts).
import { crashRecoveryCases } from './cases/crash-recovery.js';
import { describeEachSlurm } from './each-slurm.js';

describeEachSlurm('SLURM $version', {}, crashRecoveryCases);
