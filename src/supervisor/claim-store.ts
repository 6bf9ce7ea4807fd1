// claim-store.ts - the claims and actions tables (schema.ts): what the supervisor
// claimed on chain and how far it got with each. Every write is one
// statement or runs inside the caller's SQLite transaction.
import { getAddress, type Address, type Hex } from 'viem';

import type { JobDefinition } from '../metascheduler/types.js';
import { stmt, type Db } from '../state/db.js';

export type ClaimState = 'claimed' | 'submitting' | 'submitted' | 'refused' | 'failed' | 'cancelled';
export const CLAIM_STATES: readonly ClaimState[] = ['claimed', 'submitting', 'submitted', 'refused', 'failed', 'cancelled'];

export interface Claim {
  id: number;
  gridJobId: Hex;
  customer: Address;
  maxMinutes: number;
  definition: JobDefinition;
  block: bigint;
  txHash: Hex;
  logIndex: number;
  state: ClaimState;
  slurmJobId: number | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  /** ms: when the supervisor read the claim's log. */
  seenAt: number;
  submittedAt: number | null;
}

export interface NewClaim {
  gridJobId: Hex;
  customer: Address;
  maxMinutes: bigint;
  definition: JobDefinition;
  block: bigint;
  txHash: Hex;
  logIndex: number;
}

export type ActionKind = 'cancel' | 'topup';

/** A claim or action as recorded from its log (what a re-read after a reorg compares). */
export interface RecordedLog {
  kind: 'claim' | ActionKind;
  id: number;
  gridJobId: string;
  txHash: string;
  logIndex: number;
  state: string;
}
export type ActionState = 'pending' | 'done' | 'failed';

export interface Action {
  id: number;
  kind: ActionKind;
  gridJobId: Hex;
  minutes: number;
  block: bigint;
  state: ActionState;
  /** Cancel: this SLURM job precisely (an earlier submission of a job claimed again). */
  slurmJobId: number | null;
  attempts: number;
  lastError: string | null;
}

export interface NewAction {
  kind: ActionKind;
  gridJobId: Hex;
  minutes?: bigint;
  slurmJobId?: number;
  block: bigint;
  txHash: Hex;
  logIndex: number;
}

interface ClaimRow {
  id: number;
  grid_job_id: string;
  customer: string;
  max_minutes: number;
  definition: string;
  block: number;
  tx_hash: string;
  log_index: number;
  state: ClaimState;
  slurm_job_id: number | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  seen_at: number;
  submitted_at: number | null;
}

interface ActionRow {
  id: number;
  kind: ActionKind;
  grid_job_id: string;
  minutes: number;
  block: number;
  state: ActionState;
  slurm_job_id: number | null;
  attempts: number;
  last_error: string | null;
}

/** JobDefinition with bigints as decimal strings (JSON has no bigint). */
function encodeDefinition(d: JobDefinition): string {
  return JSON.stringify(d, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

function decodeDefinition(s: string): JobDefinition {
  const o = JSON.parse(s) as Record<string, unknown>;
  return {
    ...(o as unknown as JobDefinition),
    gpus: BigInt(o.gpus as string),
    memPerCpu: BigInt(o.memPerCpu as string),
    cpusPerTask: BigInt(o.cpusPerTask as string),
    ntasks: BigInt(o.ntasks as string),
  };
}

const toClaim = (r: ClaimRow): Claim => ({
  id: r.id,
  gridJobId: r.grid_job_id as Hex,
  customer: r.customer as Address,
  maxMinutes: r.max_minutes,
  definition: decodeDefinition(r.definition),
  block: BigInt(r.block),
  txHash: r.tx_hash as Hex,
  logIndex: r.log_index,
  state: r.state,
  slurmJobId: r.slurm_job_id,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastError: r.last_error,
  seenAt: r.seen_at,
  submittedAt: r.submitted_at,
});

const toAction = (r: ActionRow): Action => ({
  id: r.id,
  kind: r.kind,
  gridJobId: r.grid_job_id as Hex,
  minutes: r.minutes,
  block: BigInt(r.block),
  state: r.state,
  slurmJobId: r.slurm_job_id,
  attempts: r.attempts,
  lastError: r.last_error,
});

/** A paid duration beyond this is a contract bug or an attack: SLURM's limit is 32 bits of minutes. */
const MAX_MINUTES = 0xffff_fffe;

export class Claims {
  constructor(private readonly db: Db) {}

  /**
   * Records a claim read from a log; false when that log was recorded already
   * (a replay after restart). Earlier open claims of the same job are closed:
   * the chain took the job back and gave it again, and only the newest claim
   * may be submitted.
   */
  add(c: NewClaim, now = Date.now()): boolean {
    const minutes = c.maxMinutes > BigInt(MAX_MINUTES) ? MAX_MINUTES : Number(c.maxMinutes);
    stmt(
      this.db,
      `UPDATE claims SET state = 'cancelled', last_error = 'claimed again (block ' || ? || '): superseded by the newer claim', updated_at = ?
       WHERE grid_job_id = ? AND state IN ('claimed', 'submitting') AND NOT (tx_hash = ? AND log_index = ?)`,
    ).run(String(c.block), now, c.gridJobId.toLowerCase(), c.txHash.toLowerCase(), c.logIndex);
    const r = stmt(
      this.db,
      `INSERT INTO claims (grid_job_id, customer, max_minutes, definition, block, tx_hash, log_index, state, seen_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'claimed', ?, ?) ON CONFLICT (tx_hash, log_index) DO NOTHING`,
    ).run(c.gridJobId.toLowerCase(), getAddress(c.customer), minutes, encodeDefinition(c.definition), Number(c.block), c.txHash.toLowerCase(), c.logIndex, now, now);
    return r.changes === 1;
  }

  /** The job's latest claim. */
  latestFor(gridJobId: Hex): Claim | undefined {
    const r = stmt(this.db, 'SELECT * FROM claims WHERE grid_job_id = ? ORDER BY id DESC LIMIT 1').get(gridJobId.toLowerCase()) as ClaimRow | undefined;
    return r && toClaim(r);
  }

  /** Claims still to act on whose next attempt is due, oldest first. */
  due(now: number, limit: number): Claim[] {
    return (
      stmt(this.db, `SELECT * FROM claims WHERE state IN ('claimed', 'submitting') AND next_attempt_at <= ? ORDER BY id LIMIT ?`).all(now, limit) as ClaimRow[]
    ).map(toClaim);
  }

  openCount(): number {
    return (stmt(this.db, `SELECT count(*) AS n FROM claims WHERE state IN ('claimed', 'submitting')`).get() as { n: number }).n;
  }

  setState(id: number, state: ClaimState, extra: { slurmJobId?: number; lastError?: string | null; submittedAt?: number } = {}): void {
    stmt(
      this.db,
      `UPDATE claims SET state = ?, slurm_job_id = COALESCE(?, slurm_job_id), last_error = CASE WHEN ? THEN ? ELSE last_error END,
         submitted_at = COALESCE(?, submitted_at), updated_at = ? WHERE id = ?`,
    ).run(state, extra.slurmJobId ?? null, extra.lastError !== undefined ? 1 : 0, extra.lastError ?? null, extra.submittedAt ?? null, Date.now(), id);
  }

  /** True when this claim is its job's newest (only the newest may be submitted). */
  isLatest(id: number, gridJobId: Hex): boolean {
    const r = stmt(this.db, 'SELECT max(id) AS id FROM claims WHERE grid_job_id = ?').get(gridJobId.toLowerCase()) as { id: number | null };
    return r.id === id;
  }

  /** Moves a claim to `to` only if it is in one of `from` now; false otherwise (someone else moved it). */
  transition(id: number, from: readonly ClaimState[], to: ClaimState, lastError?: string, nextAttemptAt?: number): boolean {
    const marks = from.map(() => '?').join(', ');
    const r = stmt(
      this.db,
      `UPDATE claims SET state = ?, last_error = COALESCE(?, last_error), next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE id = ? AND state IN (${marks})`,
    ).run(to, lastError ?? null, nextAttemptAt ?? null, Date.now(), id, ...from);
    return r.changes === 1;
  }

  /** A failed attempt that will be retried at `nextAttemptAt`. */
  retryLater(id: number, error: string, nextAttemptAt: number): void {
    stmt(this.db, 'UPDATE claims SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?').run(error, nextAttemptAt, Date.now(), id);
  }

  counts(): Record<ClaimState, number> {
    const out = Object.fromEntries(CLAIM_STATES.map((s) => [s, 0])) as Record<ClaimState, number>;
    for (const r of stmt(this.db, 'SELECT state, count(*) AS n FROM claims GROUP BY state').all() as Array<{ state: ClaimState; n: number }>) out[r.state] = r.n;
    return out;
  }

  list(limit = 1_000_000): Claim[] {
    return (stmt(this.db, 'SELECT * FROM claims ORDER BY id LIMIT ?').all(limit) as ClaimRow[]).map(toClaim);
  }

  // ------------------------------------------------------------- reorgs

  /** Claims and actions recorded from logs above `block` (their logs are re-read after a reorg). */
  recordedAbove(block: bigint): RecordedLog[] {
    return stmt(
      this.db,
      `SELECT 'claim' AS kind, id, grid_job_id AS gridJobId, tx_hash AS txHash, log_index AS logIndex, state FROM claims WHERE block > ? AND log_index >= 0
       UNION ALL
       SELECT kind, id, grid_job_id, tx_hash, log_index, state FROM actions WHERE block > ? AND log_index >= 0 AND slurm_job_id IS NULL`,
    ).all(Number(block), Number(block)) as RecordedLog[];
  }

  /** A recorded log the reorg kept (same kind, same job), at its new position. */
  moveLog(r: RecordedLog, at: { block: bigint; txHash: Hex; logIndex: number }): void {
    const table = r.kind === 'claim' ? 'claims' : 'actions';
    stmt(this.db, `UPDATE ${table} SET block = ?, tx_hash = ?, log_index = ?, updated_at = ? WHERE id = ?`).run(Number(at.block), at.txHash.toLowerCase(), at.logIndex, Date.now(), r.id);
  }

  /**
   * A recorded log the chain no longer holds: its key is freed (log_index
   * -id: the same transaction re-mined is recorded afresh); a claim not yet
   * submitted is closed, a pending action fails. True when the row was still
   * open to act on; a claim already submitted is left to reconciliation (the
   * chain's status of its job decides) and false is returned.
   */
  orphanLog(r: RecordedLog, reason: string): boolean {
    const now = Date.now();
    if (r.kind === 'claim') {
      stmt(this.db, 'UPDATE claims SET log_index = -id, updated_at = ? WHERE id = ?').run(now, r.id);
      return this.transition(r.id, ['claimed'], 'cancelled', reason);
    }
    stmt(this.db, 'UPDATE actions SET log_index = -id, updated_at = ? WHERE id = ?').run(now, r.id);
    const u = stmt(this.db, `UPDATE actions SET state = 'failed', last_error = ?, updated_at = ? WHERE id = ? AND state = 'pending'`).run(reason, now, r.id);
    return u.changes === 1;
  }

  // ------------------------------------------------------------- actions

  /** Records a cancellation or top-up read from a log; false on a replay. */
  addAction(a: NewAction, now = Date.now()): boolean {
    const minutes = a.minutes === undefined ? 0 : a.minutes > BigInt(MAX_MINUTES) ? MAX_MINUTES : Number(a.minutes);
    const r = stmt(
      this.db,
      `INSERT INTO actions (kind, grid_job_id, minutes, slurm_job_id, block, tx_hash, log_index, state, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (tx_hash, log_index) DO NOTHING`,
    ).run(a.kind, a.gridJobId.toLowerCase(), minutes, a.slurmJobId ?? null, Number(a.block), a.txHash.toLowerCase(), a.logIndex, now, now);
    return r.changes === 1;
  }

  /** Cancellations still pending after at least `attempts` failed attempts. */
  stuckCancellations(attempts: number): number {
    return (stmt(this.db, `SELECT count(*) AS n FROM actions WHERE kind = 'cancel' AND state = 'pending' AND attempts >= ?`).get(attempts) as { n: number }).n;
  }

  dueActions(now: number, limit: number): Action[] {
    return (stmt(this.db, `SELECT * FROM actions WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`).all(now, limit) as ActionRow[]).map(toAction);
  }

  /** Top-up minutes claimed for the job and not yet added to the job map. */
  unappliedTopUpMinutes(gridJobId: Hex): number {
    return (
      stmt(this.db, `SELECT COALESCE(sum(minutes), 0) AS m FROM actions WHERE grid_job_id = ? AND kind = 'topup' AND minutes_applied = 0`).get(gridJobId.toLowerCase()) as {
        m: number;
      }
    ).m;
  }

  markMinutesApplied(gridJobId: Hex): void {
    stmt(this.db, `UPDATE actions SET minutes_applied = 1, updated_at = ? WHERE grid_job_id = ? AND kind = 'topup' AND minutes_applied = 0`).run(Date.now(), gridJobId.toLowerCase());
  }

  setActionState(id: number, state: ActionState, lastError: string | null = null): void {
    stmt(this.db, 'UPDATE actions SET state = ?, last_error = ?, updated_at = ? WHERE id = ?').run(state, lastError, Date.now(), id);
  }

  retryActionLater(id: number, error: string, nextAttemptAt: number): void {
    stmt(this.db, 'UPDATE actions SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?').run(error, nextAttemptAt, Date.now(), id);
  }

  actionCounts(): Record<`${ActionKind}_${ActionState}`, number> {
    const out: Record<string, number> = {};
    for (const k of ['cancel', 'topup']) for (const s of ['pending', 'done', 'failed']) out[`${k}_${s}`] = 0;
    for (const r of stmt(this.db, 'SELECT kind, state, count(*) AS n FROM actions GROUP BY kind, state').all() as Array<{ kind: string; state: string; n: number }>)
      out[`${r.kind}_${r.state}`] = r.n;
    return out as Record<`${ActionKind}_${ActionState}`, number>;
  }
}
