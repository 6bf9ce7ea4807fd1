// job-actions.ts - what the supervisor does to SLURM jobs after submission:
// claimed cancellations (scancel; the plugins' records then carry the cold
// status and the minutes used to the chain), claimed top-ups (the time limit
// becomes the paid minutes: absolute, so a retry is harmless), and the jobs
// the reporter flagged because the chain closed them while SLURM may still
// run them.
//
// A top-up's minutes are added to the job map in the transaction that records
// its log (recordTopUp), exactly once; a job not yet submitted gets them in
// its submission instead (runner.ts counts the unapplied ones).
import type { Hex } from 'viem';
import type { Logger } from 'pino';

import { JobStatus } from '../metascheduler/status.js';
import type { Reporter } from '../reporter/service.js';
import { SlurmBackendError, type SlurmBackend } from '../slurm/backend.js';
import { shortError } from '../txpipeline/errors.js';
import { backoffMs } from '../util/backoff.js';
import { CANCEL_ESCALATE_AFTER } from './cancel-escalation.js';
import type { Action, Claims } from './claim-store.js';
import type { SupervisorMetrics } from './metrics.js';
import { closeUnsubmitted } from './runner.js';

export interface JobActionsOptions {
  claims: Claims;
  reporter: Pick<Reporter, 'db' | 'addJob' | 'reports' | 'jobs'>;
  backend: SlurmBackend;
  backoffMs: number;
  maxBackoffMs: number;
  log: Logger;
  metrics: SupervisorMetrics;
  /** Retry interval of an escalated cancellation (default 60 s): it is never given up. */
  slowRetryMs?: number;
}

export class JobActions {
  constructor(private readonly opts: JobActionsOptions) {}

  /** In the log transaction: a top-up's minutes go to the job map now if the job is mapped with a SLURM id. */
  recordTopUp(gridJobId: Hex): void {
    const job = this.opts.reporter.jobs.get(gridJobId);
    if (!job || job.slurmJobId === null) return;
    const m = this.opts.claims.unappliedTopUpMinutes(gridJobId);
    if (m > 0) this.opts.reporter.jobs.addMinutes(gridJobId, m);
    this.opts.claims.markMinutesApplied(gridJobId);
  }

  /** Applies due actions (until `stopped` says so); returns how many were attempted. */
  async round(now = Date.now(), stopped: () => boolean = () => false): Promise<number> {
    const due = this.opts.claims.dueActions(now, 100);
    for (const a of due) {
      if (stopped()) break;
      try {
        const done = a.kind === 'cancel' ? await this.cancel(a) : await this.topUp(a);
        if (done) {
          this.opts.claims.setActionState(a.id, 'done');
          this.opts.metrics.actions.inc({ kind: a.kind, outcome: done });
        }
      } catch (err) {
        const unavailable = !(err instanceof SlurmBackendError) || err.kind === 'unavailable';
        if (err instanceof SlurmBackendError && err.kind === 'not_found') {
          this.opts.claims.setActionState(a.id, 'done', 'SLURM no longer knows the job');
          this.opts.metrics.actions.inc({ kind: a.kind, outcome: 'gone' });
          continue;
        }
        if (a.kind === 'cancel' && a.attempts + 1 >= CANCEL_ESCALATE_AFTER) {
          // Never given up: the customer's job would run to its limit. Escalated, then tried at a slow pace.
          const slow = this.opts.slowRetryMs ?? 60_000;
          this.opts.log.error(
            { gridJobId: a.gridJobId, slurmJobId: a.slurmJobId ?? this.opts.reporter.jobs.get(a.gridJobId)?.slurmJobId ?? null, attempts: a.attempts + 1, err: shortError(err), retryInMs: slow },
            'supervisor: CANCELLATION STUCK: the customer cancelled this job, but its SLURM job cannot be cancelled; it keeps running meanwhile. Check slurmctld and the SLURM backend (scancel the job by hand if needed); tried again every minute',
          );
          this.opts.claims.retryActionLater(a.id, shortError(err), Date.now() + slow);
          continue;
        }
        this.opts.log.warn({ gridJobId: a.gridJobId, kind: a.kind, err: shortError(err) }, `supervisor: ${a.kind} not applied yet; retrying`);
        if (!unavailable && a.attempts >= 10) {
          this.opts.claims.setActionState(a.id, 'failed', shortError(err));
          this.opts.metrics.actions.inc({ kind: a.kind, outcome: 'failed' });
          continue;
        }
        this.opts.claims.retryActionLater(a.id, shortError(err), Date.now() + backoffMs(a.attempts, this.opts.backoffMs, this.opts.maxBackoffMs));
      }
    }
    return due.length;
  }

  /** Cancels SLURM jobs the reporter flagged (closed on chain while SLURM may run them). */
  async cancelFlagged(stopped: () => boolean = () => false): Promise<number> {
    const { reporter, backend, log } = this.opts;
    let n = 0;
    for (const job of reporter.jobs.toCancel()) {
      if (stopped()) break;
      try {
        if (job.slurmJobId !== null) await backend.cancel(job.slurmJobId);
        reporter.jobs.markCancelSlurm(job.gridJobId, false);
        log.warn({ gridJobId: job.gridJobId, slurmJobId: job.slurmJobId }, 'supervisor: SLURM job cancelled: the chain already closed it');
        this.opts.metrics.actions.inc({ kind: 'closed_on_chain', outcome: 'cancelled' });
        n++;
      } catch (err) {
        log.warn({ gridJobId: job.gridJobId, err: shortError(err) }, 'supervisor: cannot cancel a job closed on chain yet; retrying');
      }
    }
    return n;
  }

  /** Returns the outcome label when the action is finished, undefined to wait. */
  private async cancel(a: Action): Promise<string | undefined> {
    const { reporter, claims, backend, log } = this.opts;
    if (a.slurmJobId !== null) {
      await backend.cancel(a.slurmJobId);
      log.info({ gridJobId: a.gridJobId, slurmJobId: a.slurmJobId }, 'supervisor: earlier SLURM job of a job claimed again cancelled');
      return 'cancelled_earlier_run';
    }
    const job = reporter.jobs.get(a.gridJobId);
    if (job?.slurmJobId != null) {
      await backend.cancel(job.slurmJobId);
      log.info({ gridJobId: a.gridJobId, slurmJobId: job.slurmJobId }, 'supervisor: cancellation claimed; SLURM job cancelled');
      return 'cancelled';
    }
    const c = claims.latestFor(a.gridJobId);
    if (!c) {
      log.error({ gridJobId: a.gridJobId }, 'supervisor: cancellation claimed for a job this supervisor never claimed; nothing to stop');
      return 'unknown';
    }
    if (c.state === 'claimed' && closeUnsubmitted(reporter, claims, c, 'cancelled', JobStatus.CANCELLED, 'cancelled by the customer before it was submitted')) {
      log.info({ gridJobId: a.gridJobId }, 'supervisor: cancellation claimed before submission; the job will not run');
      return 'cancelled';
    }
    if (c.state === 'claimed' || c.state === 'submitting') return undefined;
    return 'nothing_to_stop';
  }

  private async topUp(a: Action): Promise<string | undefined> {
    const { reporter, claims, backend, log } = this.opts;
    const job = reporter.jobs.get(a.gridJobId);
    if (job?.slurmJobId != null) {
      // Minutes not yet in the job map (claimed before its submission was mapped) go there now; idempotent.
      reporter.db.transaction(() => this.recordTopUp(a.gridJobId))();
      const minutes = reporter.jobs.get(a.gridJobId)!.maxMinutes;
      await backend.setTimeLimit(job.slurmJobId, minutes);
      log.info({ gridJobId: a.gridJobId, slurmJobId: job.slurmJobId, added: a.minutes, timeLimitMinutes: minutes }, 'supervisor: top-up claimed; SLURM time limit raised');
      return 'applied';
    }
    const c = claims.latestFor(a.gridJobId);
    if (c && (c.state === 'claimed' || c.state === 'submitting')) return undefined;
    return 'nothing_to_extend';
  }
}
