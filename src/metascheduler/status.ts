/**
 * Job status machine of the Meta-Scheduler. This module is the single place
 * where the transition table lives: the client, the oracle, the reporter and
 * the tests all ask it instead of re-encoding the rules.
 */

export enum JobStatus {
  PENDING = 0,
  META_SCHEDULED = 1,
  SCHEDULED = 2,
  RUNNING = 3,
  CANCELLED = 4,
  FINISHED = 5,
  FAILED = 6,
  OUT_OF_CREDITS = 7,
  PANICKED = 8,
}

export const ALL_JOB_STATUSES: readonly JobStatus[] = [0, 1, 2, 3, 4, 5, 6, 7, 8];

export function isJobStatus(n: unknown): n is JobStatus {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 8;
}

/** Converts a uint8 read from the chain, refusing values the protocol does not define. */
export function toJobStatus(n: number | bigint): JobStatus {
  const v = Number(n);
  if (!isJobStatus(v)) throw new RangeError(`unknown job status ${String(n)} (expected 0..8)`);
  return v;
}

export function jobStatusName(s: JobStatus | number): string {
  return JobStatus[s as JobStatus] ?? `UNKNOWN(${s})`;
}

/** Hot statuses can still change; the job holds the customer's locked credits. */
export function isHot(s: JobStatus): boolean {
  return s >= JobStatus.PENDING && s <= JobStatus.RUNNING;
}

/** Cold statuses are final: billing has been settled and nothing moves them. */
export function isCold(s: JobStatus): boolean {
  return s >= JobStatus.CANCELLED && s <= JobStatus.PANICKED;
}

export const COLD_STATUSES: readonly JobStatus[] = [
  JobStatus.CANCELLED,
  JobStatus.FINISHED,
  JobStatus.FAILED,
  JobStatus.OUT_OF_CREDITS,
  JobStatus.PANICKED,
];

/** Allowed transitions, exactly as METASCHEDULER.md; cold statuses have none. */
export const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  [JobStatus.PENDING]: [JobStatus.META_SCHEDULED, JobStatus.CANCELLED, JobStatus.PANICKED],
  [JobStatus.META_SCHEDULED]: [JobStatus.PENDING, JobStatus.SCHEDULED, JobStatus.CANCELLED, JobStatus.PANICKED],
  [JobStatus.SCHEDULED]: [
    JobStatus.PENDING,
    JobStatus.RUNNING,
    JobStatus.CANCELLED,
    JobStatus.FAILED,
    JobStatus.PANICKED,
  ],
  [JobStatus.RUNNING]: [
    JobStatus.CANCELLED,
    JobStatus.FINISHED,
    JobStatus.FAILED,
    JobStatus.OUT_OF_CREDITS,
    JobStatus.PANICKED,
  ],
  [JobStatus.CANCELLED]: [],
  [JobStatus.FINISHED]: [],
  [JobStatus.FAILED]: [],
  [JobStatus.OUT_OF_CREDITS]: [],
  [JobStatus.PANICKED]: [],
};

export type TransitionCheck =
  | { ok: true }
  | { ok: false; error: 'SameStatusError' }
  | { ok: false; error: 'JobHotStatusOnly'; current: JobStatus }
  | { ok: false; error: 'InvalidTransition'; from: JobStatus; to: JobStatus };

/**
 * What the contract does for `from -> to`, checked in the contract's order
 * (same status, then cold source, then the table) so the predicted error name
 * matches the revert the chain would produce.
 */
export function checkTransition(from: JobStatus, to: JobStatus): TransitionCheck {
  if (from === to) return { ok: false, error: 'SameStatusError' };
  if (isCold(from)) return { ok: false, error: 'JobHotStatusOnly', current: from };
  if (!TRANSITIONS[from].includes(to)) return { ok: false, error: 'InvalidTransition', from, to };
  return { ok: true };
}

export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return checkTransition(from, to).ok;
}
