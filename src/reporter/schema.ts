// schema.ts - the reporter's tables in the state database (src/state).
export const REPORTER_SCHEMA_V1: readonly string[] = [
  // The job map: filled by the supervisor when it submits a claimed job.
  `CREATE TABLE jobs (
     grid_job_id TEXT PRIMARY KEY,
     slurm_job_id INTEGER UNIQUE,
     customer TEXT NOT NULL,
     max_minutes INTEGER NOT NULL,
     claim_block INTEGER NOT NULL,
     submitted_at INTEGER,
     chain_start INTEGER,
     requeued_seconds INTEGER NOT NULL DEFAULT 0,
     cancel_slurm INTEGER NOT NULL DEFAULT 0,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT`,
  // One report per (job, status): planned -> signed -> mined -> confirmed, or parked / done.
  `CREATE TABLE reports (
     id INTEGER PRIMARY KEY,
     grid_job_id TEXT NOT NULL REFERENCES jobs (grid_job_id),
     status INTEGER NOT NULL,
     minutes INTEGER NOT NULL,
     last_error TEXT NOT NULL,
     exit_code INTEGER NOT NULL,
     state TEXT NOT NULL,
     tx_id INTEGER,
     reason TEXT,
     event_id INTEGER,
     planned_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     mined_block INTEGER,
     UNIQUE (grid_job_id, status)
   ) STRICT`,
  `CREATE INDEX reports_state ON reports (state, id)`,
];
