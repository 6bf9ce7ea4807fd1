// schema.ts - the supervisor's tables in the state database (migration 2).
//
// claims: one row per ClaimJobEvent of this provider (a job refused and
// claimed again gets a second row). Its life:
//
//   claimed --user, script--> submitting --sbatch--> submitted (slurm_job_id set,
//   the job map entry written in the same transaction)
//   claimed/submitting --> refused (SLURM refused it: refuseJob sent)
//                      --> failed (script unavailable, 0 paid minutes: FAILED planned)
//                      --> cancelled (a cancellation claimed before it was submitted)
//
// A row is written, with the log cursor, before anything acts on it; a row
// left in `submitting` by a crash is looked up in SLURM (by job name) before
// it is submitted again.
//
// actions: cancellations and top-ups claimed (ClaimNextCancellingJobEvent,
// ClaimNextTopUpJobEvent), keyed by their log, applied at most once, and the
// cancellation of an earlier SLURM job of a job claimed again (slurm_job_id
// set, keyed by the new claim's log):
//   pending --> done | failed
//
// A job claimed again (the chain took it back, e.g. an oracle timeout, then
// assigned it here again) closes its earlier open claims in the transaction
// that records the new one: one open claim per job at any time.
export const SUPERVISOR_SCHEMA_V2: readonly string[] = [
  `CREATE TABLE claims (
     id INTEGER PRIMARY KEY,
     grid_job_id TEXT NOT NULL,
     customer TEXT NOT NULL,
     max_minutes INTEGER NOT NULL,
     definition TEXT NOT NULL,
     block INTEGER NOT NULL,
     tx_hash TEXT NOT NULL,
     log_index INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('claimed', 'submitting', 'submitted', 'refused', 'failed', 'cancelled')),
     slurm_job_id INTEGER,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     seen_at INTEGER NOT NULL,
     submitted_at INTEGER,
     updated_at INTEGER NOT NULL,
     UNIQUE (tx_hash, log_index)
   ) STRICT`,
  `CREATE INDEX claims_open ON claims (state, next_attempt_at) WHERE state IN ('claimed', 'submitting')`,
  `CREATE INDEX claims_job ON claims (grid_job_id)`,
  `CREATE TABLE actions (
     id INTEGER PRIMARY KEY,
     kind TEXT NOT NULL CHECK (kind IN ('cancel', 'topup')),
     grid_job_id TEXT NOT NULL,
     minutes INTEGER NOT NULL DEFAULT 0,
     block INTEGER NOT NULL,
     tx_hash TEXT NOT NULL,
     log_index INTEGER NOT NULL,
     state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
     minutes_applied INTEGER NOT NULL DEFAULT 0,
     slurm_job_id INTEGER,
     attempts INTEGER NOT NULL DEFAULT 0,
     next_attempt_at INTEGER NOT NULL DEFAULT 0,
     last_error TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     UNIQUE (tx_hash, log_index)
   ) STRICT`,
  `CREATE INDEX actions_open ON actions (state, next_attempt_at) WHERE state = 'pending'`,
  `CREATE INDEX actions_job ON actions (grid_job_id)`,
];
