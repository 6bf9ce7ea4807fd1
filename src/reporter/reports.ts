// reports.ts - the reports table: one row per (grid job, status) the reporter
// must put on chain, and its life:
//
//   planned --submit--> signed (a nonce, fees and the raw transaction are in
//   the pipeline's txs / tx_attempts) --> mined (block N) --> confirmed (at the
//   configured depth)
//   planned/signed --revert--> done (the chain already has it) | parked (the
//   decoded reason; an operator looks at it)
//   mined --reorg--> signed; signed --nonce lost--> planned
import type { Hex } from 'viem';

import { JobStatus } from '../metascheduler/status.js';
import { stmt, type Db } from '../state/db.js';

export type ReportState = 'planned' | 'signed' | 'mined' | 'confirmed' | 'done' | 'parked';
export const REPORT_STATES: readonly ReportState[] = ['planned', 'signed', 'mined', 'confirmed', 'done', 'parked'];
/** States a report never leaves. */
export const FINAL_REPORT_STATES: ReadonlySet<ReportState> = new Set(['confirmed', 'done', 'parked']);

export interface Report {
  id: number;
  gridJobId: Hex;
  status: JobStatus;
  /** Minutes planned from SLURM's times (paid cap applied); the chain cap is applied when sending. */
  minutes: number;
  lastError: string;
  exitCode: bigint;
  state: ReportState;
  txId: number | null;
  reason: string | null;
  eventId: number | null;
  plannedAt: number;
  updatedAt: number;
  minedBlock: number | null;
}

export interface PlanInput {
  gridJobId: Hex;
  status: JobStatus;
  minutes?: number;
  lastError?: string;
  exitCode?: bigint;
  eventId?: number | null;
}

interface Row {
  id: number;
  grid_job_id: string;
  status: number;
  minutes: number;
  last_error: string;
  exit_code: number;
  state: string;
  tx_id: number | null;
  reason: string | null;
  event_id: number | null;
  planned_at: number;
  updated_at: number;
  mined_block: number | null;
}

const toReport = (r: Row): Report => ({
  id: r.id,
  gridJobId: r.grid_job_id as Hex,
  status: r.status as JobStatus,
  minutes: r.minutes,
  lastError: r.last_error,
  exitCode: BigInt(r.exit_code),
  state: r.state as ReportState,
  txId: r.tx_id,
  reason: r.reason,
  eventId: r.event_id,
  plannedAt: r.planned_at,
  updatedAt: r.updated_at,
  minedBlock: r.mined_block,
});

export class Reports {
  /** `onPlanned` is told of every report actually planned (metrics). */
  constructor(
    private readonly db: Db,
    private readonly onPlanned?: (status: JobStatus) => void,
  ) {}

  /** Plans a report; false when this job already has one for this status (a duplicate event, a second node). */
  plan(p: PlanInput): boolean {
    const now = Date.now();
    const r = stmt(
        this.db,
        `INSERT INTO reports (grid_job_id, status, minutes, last_error, exit_code, state, event_id, planned_at, updated_at)
         VALUES (?, ?, ?, ?, ?, 'planned', ?, ?, ?) ON CONFLICT (grid_job_id, status) DO NOTHING`,
      )
      .run(p.gridJobId.toLowerCase(), p.status, p.minutes ?? 0, p.lastError ?? '', p.exitCode ?? 0n, p.eventId ?? null, now, now);
    if (r.changes !== 1) return false;
    this.onPlanned?.(p.status);
    return true;
  }

  get(id: number): Report | undefined {
    const r = stmt(this.db, 'SELECT * FROM reports WHERE id = ?').get(id) as Row | undefined;
    return r && toReport(r);
  }

  forJob(gridJobId: Hex): Report[] {
    return (stmt(this.db, 'SELECT * FROM reports WHERE grid_job_id = ? ORDER BY id').all(gridJobId.toLowerCase()) as Row[]).map(toReport);
  }

  /** The job's final (cold) report, if one is planned. */
  coldFor(gridJobId: Hex): Report | undefined {
    const r = stmt(this.db, 'SELECT * FROM reports WHERE grid_job_id = ? AND status >= 4').get(gridJobId.toLowerCase()) as Row | undefined;
    return r && toReport(r);
  }

  /**
   * Planned reports that may be sent now, oldest first: a cold report waits
   * until its job's RUNNING is at least mined (the simulation runs against the
   * chain's latest state, and the contract needs RUNNING first).
   */
  ready(limit: number): Report[] {
    return (
      stmt(
        this.db,
          `SELECT r.* FROM reports r
           WHERE r.state = 'planned'
             AND NOT EXISTS (SELECT 1 FROM reports p WHERE p.grid_job_id = r.grid_job_id AND p.status = 3 AND r.status != 3
                             AND p.state IN ('planned', 'signed'))
           ORDER BY r.id LIMIT ?`,
        )
        .all(limit) as Row[]
    ).map(toReport);
  }

  setState(id: number, state: ReportState, extra: { txId?: number | null; reason?: string | null; minedBlock?: number | null } = {}): void {
    stmt(
        this.db,
        `UPDATE reports SET state = ?, updated_at = ?,
           tx_id = CASE WHEN ? THEN ? ELSE tx_id END,
           reason = CASE WHEN ? THEN ? ELSE reason END,
           mined_block = CASE WHEN ? THEN ? ELSE mined_block END
         WHERE id = ?`,
      )
      .run(
        state,
        Date.now(),
        extra.txId !== undefined ? 1 : 0,
        extra.txId ?? null,
        extra.reason !== undefined ? 1 : 0,
        extra.reason ?? null,
        extra.minedBlock !== undefined ? 1 : 0,
        extra.minedBlock ?? null,
        id,
      );
  }

  /**
   * Forgets a job's reports that never reached a transaction (planned,
   * parked, or closed as done without one): the job was claimed again and its
   * new run is reported afresh. Signed and mined ones stay (they are on their
   * way to the chain).
   */
  dropUnsent(gridJobId: Hex): number {
    return stmt(this.db, `DELETE FROM reports WHERE grid_job_id = ? AND tx_id IS NULL AND state IN ('planned', 'parked', 'done')`).run(gridJobId.toLowerCase()).changes;
  }

  /** Sends a report through the pipeline again (RUNNING reset after a revert asked for it). */
  replan(id: number, reason: string): void {
    this.setState(id, 'planned', { txId: null, reason });
  }

  counts(): Record<ReportState, number> {
    const out = Object.fromEntries(REPORT_STATES.map((s) => [s, 0])) as Record<ReportState, number>;
    for (const r of stmt(this.db, 'SELECT state, count(*) AS n FROM reports GROUP BY state').all() as Array<{ state: ReportState; n: number }>) out[r.state] = r.n;
    return out;
  }

  list(opts: { state?: ReportState; gridJobId?: Hex; limit?: number } = {}): Report[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.state) {
      where.push('state = ?');
      args.push(opts.state);
    }
    if (opts.gridJobId) {
      where.push('grid_job_id = ?');
      args.push(opts.gridJobId.toLowerCase());
    }
    const sql = `SELECT * FROM reports ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT ?`;
    return (stmt(this.db, sql).all(...args, opts.limit ?? 1_000_000) as Row[]).map(toReport);
  }
}
