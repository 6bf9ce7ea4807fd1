// schema.ts - the ingest's tables in the state database (src/state).
export const INGEST_SCHEMA_V1: readonly string[] = [
  // One row per accepted record; id is store order, the reporter's cursor.
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY,
     spool_id TEXT NOT NULL,
     seq INTEGER NOT NULL,
     host TEXT NOT NULL,
     daemon TEXT NOT NULL,
     received_at INTEGER NOT NULL,
     kind INTEGER NOT NULL,
     job_id INTEGER NOT NULL,
     event TEXT NOT NULL,
     UNIQUE (spool_id, seq)
   ) STRICT`,
  `CREATE TABLE hmac_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) STRICT, WITHOUT ROWID`,
  `CREATE INDEX hmac_nonces_expiry ON hmac_nonces (expires_at)`,
];
