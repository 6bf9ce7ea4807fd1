// jobmap.ts - the job map: grid job id <-> SLURM job id, customer, paid
// minutes, claim block. The supervisor adds a job when it submits it to
// SLURM; the reporter reports only jobs found here, whatever an event's job
// name or comment claim.
import { getAddress, isAddress, isHex, type Address, type Hex } from 'viem';

import { stmt, type Db } from '../state/db.js';

export interface MappedJob {
  gridJobId: Hex;
  slurmJobId: number | null;
  customer: Address;
  /** Paid duration in minutes: maxDurationMinute at claim plus top-ups. */
  maxMinutes: number;
  claimBlock: bigint;
  /** Unix seconds when it was submitted to SLURM (null until then). */
  submittedAt: number | null;
  /** time.start on chain (unix seconds) once RUNNING was mined, when known. */
  chainStart: number | null;
  /** Seconds used by earlier runs of a requeued job. */
  requeuedSeconds: number;
  /** The chain says the job is final while SLURM may still run it: the supervisor should scancel it. */
  cancelSlurm: boolean;
}

export interface AddJobInput {
  gridJobId: Hex;
  slurmJobId?: number | null;
  customer: Address;
  maxMinutes: number | bigint;
  claimBlock: bigint | number;
  submittedAt?: number | null;
}

export class JobMapError extends Error {
  override readonly name = 'JobMapError';
}

interface Row {
  grid_job_id: string;
  slurm_job_id: number | null;
  customer: string;
  max_minutes: number;
  claim_block: number;
  submitted_at: number | null;
  chain_start: number | null;
  requeued_seconds: number;
  cancel_slurm: number;
}

const toJob = (r: Row): MappedJob => ({
  gridJobId: r.grid_job_id as Hex,
  slurmJobId: r.slurm_job_id,
  customer: r.customer as Address,
  maxMinutes: r.max_minutes,
  claimBlock: BigInt(r.claim_block),
  submittedAt: r.submitted_at,
  chainStart: r.chain_start,
  requeuedSeconds: r.requeued_seconds,
  cancelSlurm: r.cancel_slurm !== 0,
});

export function normaliseJobId(id: string): Hex {
  if (!isHex(id) || id.length !== 66) throw new JobMapError(`grid job id ${JSON.stringify(id.slice(0, 80))} is not a 0x-prefixed 32-byte hex string`);
  return id.toLowerCase() as Hex;
}

export class JobMap {
  constructor(private readonly db: Db) {}

  /** Adds a job, or updates its SLURM id, paid minutes and submit time (idempotent: the supervisor may retry). */
  add(j: AddJobInput): MappedJob {
    if (!isAddress(j.customer, { strict: false })) throw new JobMapError(`customer ${JSON.stringify(String(j.customer).slice(0, 80))} is not an address`);
    const id = normaliseJobId(j.gridJobId);
    const minutes = Number(j.maxMinutes);
    if (!Number.isSafeInteger(minutes) || minutes < 0) throw new JobMapError(`max minutes ${String(j.maxMinutes)} is not a non-negative integer`);
    const slurm = j.slurmJobId ?? null;
    if (slurm !== null && (!Number.isInteger(slurm) || slurm <= 0 || slurm > 0xffffffff)) throw new JobMapError(`SLURM job id ${slurm} is out of range`);
    const now = Date.now();
    try {
      stmt(
        this.db,
          `INSERT INTO jobs (grid_job_id, slurm_job_id, customer, max_minutes, claim_block, submitted_at, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (grid_job_id) DO UPDATE SET
             slurm_job_id = COALESCE(excluded.slurm_job_id, slurm_job_id),
             max_minutes = excluded.max_minutes,
             submitted_at = COALESCE(excluded.submitted_at, submitted_at),
             updated_at = excluded.updated_at`,
        )
        .run(id, slurm, getAddress(j.customer), minutes, Number(j.claimBlock), j.submittedAt ?? null, now, now);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new JobMapError(`SLURM job ${slurm} is already mapped to another grid job: ${(err as Error).message}`);
      throw err;
    }
    return this.get(id)!;
  }

  get(gridJobId: Hex): MappedJob | undefined {
    const r = stmt(this.db, 'SELECT * FROM jobs WHERE grid_job_id = ?').get(gridJobId.toLowerCase()) as Row | undefined;
    return r && toJob(r);
  }

  bySlurmId(slurmJobId: number): MappedJob | undefined {
    const r = stmt(this.db, 'SELECT * FROM jobs WHERE slurm_job_id = ?').get(slurmJobId) as Row | undefined;
    return r && toJob(r);
  }

  /** A top-up: the paid duration grows by `minutes`. */
  addMinutes(gridJobId: Hex, minutes: number): void {
    stmt(this.db, 'UPDATE jobs SET max_minutes = max_minutes + ?, updated_at = ? WHERE grid_job_id = ?').run(minutes, Date.now(), gridJobId.toLowerCase());
  }

  setChainStart(gridJobId: Hex, startS: number | null): void {
    stmt(this.db, 'UPDATE jobs SET chain_start = ?, updated_at = ? WHERE grid_job_id = ?').run(startS, Date.now(), gridJobId.toLowerCase());
  }

  addRequeuedSeconds(gridJobId: Hex, seconds: number): void {
    stmt(this.db, 'UPDATE jobs SET requeued_seconds = requeued_seconds + ?, updated_at = ? WHERE grid_job_id = ?').run(seconds, Date.now(), gridJobId.toLowerCase());
  }

  markCancelSlurm(gridJobId: Hex, on = true): void {
    stmt(this.db, 'UPDATE jobs SET cancel_slurm = ?, updated_at = ? WHERE grid_job_id = ?').run(on ? 1 : 0, Date.now(), gridJobId.toLowerCase());
  }

  /**
   * The job was claimed again (the chain took it back, then gave it to this
   * provider again): its earlier SLURM id, cancel flag and chain start are
   * forgotten so the new submission is reported afresh. Returns the earlier
   * SLURM id (for the caller to cancel), null if there was none.
   */
  reclaim(gridJobId: Hex): number | null {
    const old = this.get(gridJobId);
    if (!old) return null;
    stmt(this.db, 'UPDATE jobs SET slurm_job_id = NULL, cancel_slurm = 0, chain_start = NULL, requeued_seconds = 0, submitted_at = NULL, updated_at = ? WHERE grid_job_id = ?').run(
      Date.now(),
      gridJobId.toLowerCase(),
    );
    return old.slurmJobId;
  }

  /** Clears a SLURM id held by another grid job (slurmctld reused it after losing its state); returns that job. */
  releaseSlurmId(slurmJobId: number, keep: Hex): Hex | undefined {
    const other = this.bySlurmId(slurmJobId);
    if (!other || other.gridJobId === keep.toLowerCase()) return undefined;
    stmt(this.db, 'UPDATE jobs SET slurm_job_id = NULL, updated_at = ? WHERE grid_job_id = ?').run(Date.now(), other.gridJobId);
    return other.gridJobId;
  }

  /** Jobs the chain says are final while SLURM may still run them (for the supervisor's scancel). */
  toCancel(): MappedJob[] {
    return (stmt(this.db, 'SELECT * FROM jobs WHERE cancel_slurm = 1').all() as Row[]).map(toJob);
  }

  /**
   * Mapped jobs by the chain status this store saw mined (its own reports
   * mined or confirmed, or found already on chain): the highest such status,
   * SCHEDULED when none. For the `gridlink_jobs` gauge.
   */
  chainStatusCounts(): Array<{ status: number; n: number }> {
    return stmt(
      this.db,
      `SELECT coalesce((SELECT max(r.status) FROM reports r WHERE r.grid_job_id = j.grid_job_id AND r.state IN ('mined', 'confirmed', 'done')), 2) AS status,
              count(*) AS n
         FROM jobs j GROUP BY 1`,
    ).all() as Array<{ status: number; n: number }>;
  }

  /**
   * Jobs with no final report yet (open on our side), oldest first, from
   * `afterId` on (a rowid cursor so reconciliation walks them incrementally).
   */
  open(afterRowid: number, limit: number): Array<{ rowid: number; job: MappedJob }> {
    const rows = stmt(
        this.db,
        `SELECT rowid AS rid, * FROM jobs j WHERE rowid > ? AND NOT EXISTS (
           SELECT 1 FROM reports r WHERE r.grid_job_id = j.grid_job_id AND r.status >= 4)
         ORDER BY rowid LIMIT ?`,
      )
      .all(afterRowid, limit) as Array<Row & { rid: number }>;
    return rows.map((r) => ({ rowid: r.rid, job: toJob(r) }));
  }
}
