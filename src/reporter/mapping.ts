// mapping.ts - SLURM job events -> Meta-Scheduler statuses. The one table of
// what the reporter tells the chain about a job; everything else (planning,
// sending, reconciling) asks this module.
//
//   event / SLURM end state              chain status     lastError        exitCode
//   ------------------------------------ ---------------- ---------------- --------
//   job_started (first, on any node)     RUNNING          ''               0
//   job_ended_node (epilog)              (nothing)
//   COMPLETED                            FINISHED         ''               SLURM's
//   FAILED, NODE_FAIL, BOOT_FAIL,        FAILED           'SLURM <STATE>…' SLURM's
//     OUT_OF_MEMORY
//   CANCELLED                            CANCELLED        'SLURM CANCELLED…' SLURM's
//   TIMEOUT, DEADLINE                    OUT_OF_CREDITS   when the run reached the paid duration
//                                        FAILED           otherwise (a partition limit or a
//                                                         deadline before the credits ran out)
//   PREEMPTED (not requeued)             FAILED           'SLURM PREEMPTED…': the provider's
//                                                         own scheduler took the resources back;
//                                                         the customer pays only the minutes it ran
//   any state with REQUEUE, REQUEUE_HOLD  (nothing)        the job will run again under the same
//     or SPECIAL_EXIT flags, RESIZING                     SLURM id: the run is added to the job's
//                                                         requeued time and billed with the final
//                                                         completion; the chain keeps RUNNING
//   PENDING, RUNNING, SUSPENDED          (nothing)        not an end state (malformed record)
//
// A job that ends without having run (startTime 0: cancelled while pending,
// failed before launch) goes cold straight from SCHEDULED, which the contract
// allows for CANCELLED and FAILED and which bills nothing. A job that ran is
// always reported RUNNING first (the contract bills only from RUNNING's
// block, and SCHEDULED -> FINISHED / OUT_OF_CREDITS is not a transition).
import { JobStatus } from '../metascheduler/status.js';
import { JOB_REQUEUE, JOB_REQUEUE_HOLD, JOB_RESIZING, JOB_SPECIAL_EXIT, SLURM_STATE_NAMES } from '../slurm/states.js';

const CONTINUES = JOB_REQUEUE | JOB_REQUEUE_HOLD | JOB_SPECIAL_EXIT | JOB_RESIZING;

type Rule =
  | { status: JobStatus; error: boolean }
  /** TIMEOUT / DEADLINE: OUT_OF_CREDITS when the paid duration was used up, else FAILED. */
  | { status: 'limit'; error: true };

/** The table. States not listed are not end states. */
export const END_STATE_RULES: Readonly<Record<string, Rule>> = {
  COMPLETED: { status: JobStatus.FINISHED, error: false },
  FAILED: { status: JobStatus.FAILED, error: true },
  NODE_FAIL: { status: JobStatus.FAILED, error: true },
  BOOT_FAIL: { status: JobStatus.FAILED, error: true },
  OUT_OF_MEMORY: { status: JobStatus.FAILED, error: true },
  PREEMPTED: { status: JobStatus.FAILED, error: true },
  CANCELLED: { status: JobStatus.CANCELLED, error: true },
  TIMEOUT: { status: 'limit', error: true },
  DEADLINE: { status: 'limit', error: true },
};

/** What a completion record carries that the mapping reads (a wire event has these fields). */
export interface CompletionFacts {
  jobId: number;
  /** Raw job_state, flags included. */
  jobState: number;
  exitCode: number;
  signal: number;
  /** Unix seconds; 0 = never started. */
  startTime: number;
  endTime: number;
}

export type CompletionMapping =
  | { kind: 'final'; status: JobStatus; slurmState: string; lastError: string; exitCode: bigint; ran: boolean; runSeconds: number }
  /** This run ended but SLURM runs the job again (requeue); add runSeconds to the job's requeued time. */
  | { kind: 'requeued'; slurmState: string; runSeconds: number }
  | { kind: 'ignored'; why: string };

export function slurmStateName(jobState: number): string {
  const base = jobState & 0xff;
  return SLURM_STATE_NAMES[base] ?? `UNKNOWN(${base})`;
}

/** Seconds of this run according to SLURM's own start and end times. */
export function runSeconds(f: Pick<CompletionFacts, 'startTime' | 'endTime'>): number {
  return f.startTime > 0 && f.endTime > f.startTime ? f.endTime - f.startTime : 0;
}

/**
 * A completion record -> what to report. `paidMinutes` is the duration the
 * customer paid for (max minutes at claim plus top-ups); `requeuedSeconds`
 * what earlier runs of the same job used.
 */
export function mapCompletion(f: CompletionFacts, paidMinutes: number, requeuedSeconds = 0): CompletionMapping {
  const slurmState = slurmStateName(f.jobState);
  const secs = runSeconds(f);
  if (f.jobState & CONTINUES) return { kind: 'requeued', slurmState, runSeconds: secs };
  const rule = END_STATE_RULES[slurmState];
  if (!rule) return { kind: 'ignored', why: `SLURM state ${slurmState} is not an end state` };
  const total = secs + requeuedSeconds;
  let status: JobStatus;
  let why = '';
  if (rule.status === 'limit') {
    // SLURM enforces the time limit on a ~30 s timer: a run that reached the
    // paid duration ends at or after it. Anything earlier hit another limit.
    const paidUsed = paidMinutes > 0 && total + 60 > paidMinutes * 60;
    status = paidUsed ? JobStatus.OUT_OF_CREDITS : JobStatus.FAILED;
    why = paidUsed
      ? `: the paid duration of ${paidMinutes} min was used up`
      : `: a limit other than the paid duration (${paidMinutes} min) was hit after ${Math.floor(total / 60)} min`;
  } else {
    status = rule.status;
  }
  const sig = f.signal ? `, signal ${f.signal}` : '';
  const lastError = rule.error ? `SLURM job ${f.jobId} ended ${slurmState} (exit code ${f.exitCode}${sig})${why}` : '';
  return { kind: 'final', status, slurmState, lastError, exitCode: BigInt(f.exitCode), ran: f.startTime > 0 || requeuedSeconds > 0, runSeconds: total };
}

/** Whether a cold status needs RUNNING on chain first. */
export function needsRunningFirst(m: { status: JobStatus; ran: boolean }): boolean {
  if (m.status === JobStatus.FINISHED || m.status === JobStatus.OUT_OF_CREDITS) return true;
  return m.ran;
}
