// states.ts - SLURM's job states, as slurm.h numbers them (`enum job_states`,
// the low byte of job_state) and as scontrol and sacct print them. The same
// from 22.05 to 25.11.
export const SLURM_STATE_NAMES: readonly string[] = [
  'PENDING',
  'RUNNING',
  'SUSPENDED',
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'OUT_OF_MEMORY',
];

/** The states a job ends in (everything after SUSPENDED). */
export const TERMINAL_JOB_STATES: ReadonlySet<string> = new Set(SLURM_STATE_NAMES.slice(SLURM_STATE_NAMES.indexOf('COMPLETED')));

export function isTerminal(state: string): boolean {
  return TERMINAL_JOB_STATES.has(state);
}

/** job_state flags (slurm.h) that mean "this run ended, the job itself continues". */
export const JOB_REQUEUE = 1 << 10;
export const JOB_REQUEUE_HOLD = 1 << 11;
export const JOB_SPECIAL_EXIT = 1 << 12;
export const JOB_RESIZING = 1 << 13;
