// Each way a job can end yields exactly one completion record with the right
// state, times and exit code; every job that started yields one prolog record
// (the cases: cases/job-states.ts; also run in the slurm-in-docker cluster).
import { jobStateCases } from './cases/job-states.js';
import { describeEachSlurm } from './each-slurm.js';

describeEachSlurm('jobcomp/provider and spank/provider on a real SLURM $version cluster', {}, jobStateCases);
