// schema.ts - the ingest's tables in the state database (src/state).

/** The HMAC nonces of the replay window (also used alone, in memory, by an Authenticator without a database). */
export const HMAC_NONCES_SCHEMA: readonly string[] = [
  // A nonce (`<keyId>:<nonceHex>`) is refused again until expires_at (unix seconds).
  `CREATE TABLE hmac_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID`,
  `CREATE INDEX hmac_nonces_expiry ON hmac_nonces (expires_at)`,
];

export const INGEST_SCHEMA_V1: readonly string[] = [
  // One row per accepted record; id is store order, the reporter's cursor.
  // seq: the spool's u64 seq; the ingest refuses one above 2^63-1.
  // host: the batch's host; when it is not valid Unicode (lone surrogates:
  // bytes that were not UTF-8) SQLite cannot hold it as TEXT, so host has
  // them as U+FFFD and host_json the exact string as JSON. NULL otherwise.
  // event: the WireEvent as JSON (lone surrogates escaped as \udcNN).
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     spool_id TEXT NOT NULL,
     seq INTEGER NOT NULL CHECK (seq >= 0),
     host TEXT NOT NULL,
     host_json TEXT,
     daemon TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     kind INTEGER NOT NULL,
     job_id INTEGER NOT NULL,
     event TEXT NOT NULL,
     UNIQUE (spool_id, seq)
   ) STRICT`,
  // The events of one SLURM job, in store order (the planner, when a job gets its SLURM id).
  `CREATE INDEX events_job ON events (job_id, id)`,
  ...HMAC_NONCES_SCHEMA,
];
