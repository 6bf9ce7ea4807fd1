// Job names and comments are the job owner's: any bytes must be recorded
// exactly, and must never break the record or the ones after it (the cases:
// cases/hostile-strings.ts).
import { hostileStringCases } from './cases/hostile-strings.js';
import { describeEachSlurm } from './each-slurm.js';

describeEachSlurm('SLURM $version', {}, hostileStringCases);
