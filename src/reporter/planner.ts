// planner.ts - derives reports from the ingest's stored events. Reads events
// after a cursor and, in ONE SQLite transaction, plans their reports and
// moves the cursor: a crash at any instant either derived a batch entirely
// or not at all, so nothing is lost and nothing is derived twice (and the
// (job, status) uniqueness of reports absorbs duplicates from several nodes).
import type { Logger } from 'pino';

import { reportedMinutes } from '../metascheduler/billing.js';
import { JobStatus, jobStatusName } from '../metascheduler/status.js';
import { EventKind } from '../native/event.js';
import type { WireEvent } from '../relay/protocol.js';
import { getMeta, setMeta, type Db } from '../state/db.js';
import { normaliseJobId, type AddJobInput, type JobMap, type MappedJob } from './jobmap.js';
import { mapCompletion, needsRunningFirst } from './mapping.js';
import type { Reports } from './reports.js';

export const EVENTS_CURSOR_KEY = 'reporter.events_cursor';

/** Where the planner reads events from (the ingest's EventStore). */
export interface EventSource {
  eventsAfter(afterId: number, limit: number): Array<{ id: number; record: { event: WireEvent } }>;
  /** Stored events of one SLURM job id with id <= uptoId, in store order. */
  eventsForJob(slurmJobId: number, uptoId: number): Array<{ id: number; record: { event: WireEvent } }>;
}

export interface PlannerCounters {
  onEvent?: (outcome: 'planned' | 'duplicate' | 'unmapped' | 'requeued' | 'ignored') => void;
}

export class Planner {
  constructor(
    private readonly db: Db,
    private readonly source: EventSource,
    private readonly jobs: JobMap,
    private readonly reports: Reports,
    private readonly log: Logger,
    private readonly counters: PlannerCounters = {},
  ) {}

  /**
   * Adds a job to the job map (the supervisor calls this when it submits).
   * When this gives the job its SLURM id, events of that id already derived
   * (and ignored as unmapped: the prolog can beat the supervisor's write)
   * are derived again, in the same transaction.
   */
  addJob(input: AddJobInput): MappedJob {
    return this.db.transaction(() => {
      const before = this.jobs.get(normaliseJobId(input.gridJobId));
      const job = this.jobs.add(input);
      if (job.slurmJobId !== null && before?.slurmJobId !== job.slurmJobId) {
        for (const { id, record } of this.source.eventsForJob(job.slurmJobId, this.cursor())) this.apply(id, record.event);
      }
      return this.jobs.get(job.gridJobId)!;
    })();
  }

  cursor(): number {
    return Number(getMeta(this.db, EVENTS_CURSOR_KEY) ?? 0);
  }

  /** Derives up to `limit` events; returns how many were consumed (0: caught up). */
  step(limit = 1000): number {
    return this.db.transaction(() => {
      const rows = this.source.eventsAfter(this.cursor(), limit);
      for (const { id, record } of rows) this.apply(id, record.event);
      if (rows.length > 0) setMeta(this.db, EVENTS_CURSOR_KEY, String(rows[rows.length - 1]!.id));
      return rows.length;
    })();
  }

  /** Derives everything stored so far. */
  drain(batch = 1000): number {
    let n = 0;
    for (let k = this.step(batch); k > 0; k = this.step(batch)) n += k;
    return n;
  }

  private count(outcome: Parameters<NonNullable<PlannerCounters['onEvent']>>[0]): void {
    this.counters.onEvent?.(outcome);
  }

  /** One event; runs inside step()'s transaction. */
  apply(eventId: number, ev: WireEvent): void {
    const job = this.jobs.bySlurmId(ev.jobId);
    if (!job) {
      // Not ours (a local user's job, or one submitted before the job map knew it): whatever its name says.
      this.log.debug({ eventId, slurmJobId: ev.jobId, kind: ev.kind }, 'reporter: event for a job not in the job map, ignored');
      return this.count('unmapped');
    }
    if (job.submittedAt !== null && ev.submitTime > 0 && ev.submitTime + 5 < job.submittedAt) {
      // SLURM reused the id (its state was lost): this record is an older job's.
      this.log.warn({ eventId, slurmJobId: ev.jobId, gridJobId: job.gridJobId, eventSubmit: ev.submitTime, mappedSubmit: job.submittedAt }, 'reporter: event is older than the mapped job with the same SLURM id, ignored');
      return this.count('ignored');
    }
    switch (ev.kind) {
      case EventKind.JobStarted:
        return this.count(this.reports.plan({ gridJobId: job.gridJobId, status: JobStatus.RUNNING, eventId }) ? 'planned' : 'duplicate');
      case EventKind.JobCompleted:
        return this.completion(eventId, ev, job);
      default:
        return this.count('ignored'); // job_ended_node: the controller's completion is the end state
    }
  }

  completion(eventId: number | null, ev: Pick<WireEvent, 'jobId' | 'jobState' | 'exitCode' | 'signal' | 'startTime' | 'endTime'>, job: MappedJob): void {
    const m = mapCompletion(ev, job.maxMinutes, job.requeuedSeconds);
    if (m.kind === 'ignored') {
      this.log.warn({ eventId, slurmJobId: ev.jobId, gridJobId: job.gridJobId, why: m.why }, 'reporter: completion record ignored');
      return this.count('ignored');
    }
    if (m.kind === 'requeued') {
      if (this.reports.coldFor(job.gridJobId)) return this.count('duplicate');
      this.jobs.addRequeuedSeconds(job.gridJobId, m.runSeconds);
      this.log.info({ eventId, slurmJobId: ev.jobId, gridJobId: job.gridJobId, state: m.slurmState, runSeconds: m.runSeconds }, 'reporter: job requeued by SLURM; its run is billed with its final completion');
      return this.count('requeued');
    }
    if (this.reports.coldFor(job.gridJobId)) return this.count('duplicate');
    if (needsRunningFirst(m)) this.reports.plan({ gridJobId: job.gridJobId, status: JobStatus.RUNNING, eventId });
    const minutes = reportedMinutes({ runSeconds: m.runSeconds, paidMinutes: BigInt(job.maxMinutes) });
    this.reports.plan({ gridJobId: job.gridJobId, status: m.status, minutes: Number(minutes), lastError: m.lastError, exitCode: m.exitCode, eventId });
    this.log.info({ eventId, slurmJobId: ev.jobId, gridJobId: job.gridJobId, slurmState: m.slurmState, status: jobStatusName(m.status), minutes: Number(minutes) }, 'reporter: final status planned');
    this.count('planned');
  }
}
