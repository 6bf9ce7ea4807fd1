// reconcile.ts - what the store believes, against what the chain and
// slurmctld say, at start and then periodically. Incremental: each pass
// looks at up to `batch` open jobs (mapped, with no final report yet) from a
// persisted cursor and wraps around; the chain is read per job (eth_call at
// latest), never scanned from genesis.
//
//   chain already final (customer cancel, oracle panic)  -> closed; scancel flagged
//   chain back to PENDING / META_SCHEDULED (refused,     -> closed; scancel flagged
//     timed out: the job is no longer ours)
//   slurmctld holds the job in an end state and no       -> the completion is rebuilt from
//     completion record arrived (a relay down, a            slurmctld's record (state, times,
//     spool lost)                                           exit code) and planned as usual
//   slurmctld does not know the job (purged after        -> FAILED, 0 minutes, lastError saying so,
//     MinJobAge, or its state was lost) for longer         once it has been missing for lostGraceMs:
//     than lostGraceMs and no completion arrived            the customer is not billed for a result
//                                                          the cluster lost (the contract still bills
//                                                          its one-minute minimum if it was RUNNING)
import type { Hex } from 'viem';
import type { Logger } from 'pino';

import { JobStatus, isCold, jobStatusName } from '../metascheduler/status.js';
import { getMeta, setMeta, type Db } from '../state/db.js';
import type { SlurmJobSource } from '../slurm/jobs.js';
import type { JobMap } from './jobmap.js';
import { END_STATE_RULES } from './mapping.js';
import type { ReporterMetrics } from './metrics.js';
import type { Planner } from './planner.js';
import type { Reports } from './reports.js';

export const RECONCILE_CURSOR_KEY = 'reporter.reconcile_cursor';

export interface ReconcilerOptions {
  db: Db;
  jobs: JobMap;
  reports: Reports;
  planner: Planner;
  /** Status of a job on chain. */
  chainStatus(gridJobId: Hex): Promise<JobStatus>;
  /** slurmctld's jobs; undefined = no SLURM access configured (chain checks only). */
  slurm?: SlurmJobSource | undefined;
  log: Logger;
  metrics?: ReporterMetrics | undefined;
  /** Open jobs looked at per pass (default 500). */
  batch?: number;
  /** How long a submitted job may be unknown to slurmctld before it is reported lost (default 10 min). */
  lostGraceMs?: number;
  now?: () => number;
}

export interface ReconcileSummary {
  checked: number;
  closedOnChain: number;
  recovered: number;
  lost: number;
}

export class Reconciler {
  /** Jobs first seen missing from slurmctld (ms), in memory: a restart restarts the grace period. */
  private readonly missingSince = new Map<Hex, number>();

  constructor(private readonly opts: ReconcilerOptions) {}

  async pass(): Promise<ReconcileSummary> {
    const { db, jobs, reports, planner, log } = this.opts;
    const now = this.opts.now ?? Date.now;
    const sum: ReconcileSummary = { checked: 0, closedOnChain: 0, recovered: 0, lost: 0 };
    planner.drain(); // completions already stored go through the normal path first
    const cursor = Number(getMeta(db, RECONCILE_CURSOR_KEY) ?? 0);
    const open = jobs.open(cursor, this.opts.batch ?? 500);
    const slurmJobs = this.opts.slurm ? await this.opts.slurm.jobs() : undefined;
    for (const { job } of open) {
      sum.checked++;
      const chain = await this.opts.chainStatus(job.gridJobId);
      if (isCold(chain) || chain === JobStatus.PENDING || chain === JobStatus.META_SCHEDULED) {
        // The job's own cold report may have been planned (and even mined) since `open` was read.
        const closed = db.transaction(() => {
          if (reports.coldFor(job.gridJobId)) return false;
          // A closed marker (state done) so the job is no longer open; chain statuses below SCHEDULED use status 4's slot.
          const status = isCold(chain) ? chain : JobStatus.CANCELLED;
          reports.plan({ gridJobId: job.gridJobId, status, lastError: `closed on chain: ${jobStatusName(chain)}` });
          const r = reports.coldFor(job.gridJobId)!;
          reports.setState(r.id, 'done', { reason: `the chain has ${jobStatusName(chain)}: nothing to report; the SLURM job is cancelled if it runs` });
          jobs.markCancelSlurm(job.gridJobId);
          return true;
        })();
        if (!closed) continue;
        log.warn({ gridJobId: job.gridJobId, slurmJobId: job.slurmJobId, chainStatus: jobStatusName(chain) }, 'reconcile: job closed on chain by someone else; SLURM job flagged for cancellation');
        this.opts.metrics?.reconciled.inc({ outcome: 'closed_on_chain' });
        sum.closedOnChain++;
        continue;
      }
      if (!slurmJobs || job.slurmJobId === null) continue;
      const s = slurmJobs.get(job.slurmJobId);
      if (s) {
        this.missingSince.delete(job.gridJobId);
        if (s.jobState >= 0 && END_STATE_RULES[s.state]) {
          db.transaction(() => planner.completion(null, { jobId: s.jobId, jobState: s.jobState, exitCode: s.exitCode, signal: s.signal, startTime: s.startTime, endTime: s.endTime }, job))();
          log.warn({ gridJobId: job.gridJobId, slurmJobId: s.jobId, state: s.state }, 'reconcile: completion recovered from slurmctld (no completion record arrived)');
          this.opts.metrics?.reconciled.inc({ outcome: 'recovered' });
          sum.recovered++;
        }
        continue;
      }
      const first = this.missingSince.get(job.gridJobId) ?? now();
      this.missingSince.set(job.gridJobId, first);
      if (now() - first < (this.opts.lostGraceMs ?? 600_000)) continue;
      db.transaction(() => {
        if (reports.coldFor(job.gridJobId)) return;
        reports.plan({
          gridJobId: job.gridJobId,
          status: JobStatus.FAILED,
          minutes: 0,
          lastError: `SLURM job ${job.slurmJobId} was lost by the cluster: slurmctld no longer knows it and no completion record arrived`,
        });
      })();
      this.missingSince.delete(job.gridJobId);
      log.error({ gridJobId: job.gridJobId, slurmJobId: job.slurmJobId }, 'reconcile: job lost by the cluster; reported FAILED');
      this.opts.metrics?.reconciled.inc({ outcome: 'lost' });
      sum.lost++;
    }
    setMeta(db, RECONCILE_CURSOR_KEY, String(open.length < (this.opts.batch ?? 500) ? 0 : open[open.length - 1]!.rowid));
    return sum;
  }
}
