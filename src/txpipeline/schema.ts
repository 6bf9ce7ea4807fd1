// schema.ts - the transaction pipeline's tables in the state database (src/state).
export const TX_SCHEMA_V1: readonly string[] = [
  // One row per nonce this process signed for. state: pending (signed, not
  // mined), mined, confirmed, lost (the nonce was used by a transaction this
  // store did not sign).
  `CREATE TABLE txs (
     id INTEGER PRIMARY KEY,
     nonce INTEGER NOT NULL UNIQUE,
     kind TEXT NOT NULL,
     ref TEXT NOT NULL,
     to_addr TEXT NOT NULL,
     data TEXT NOT NULL,
     gas INTEGER NOT NULL,
     state TEXT NOT NULL,
     mined_hash TEXT,
     mined_block INTEGER,
     mined_block_hash TEXT,
     receipt_status TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT`,
  `CREATE INDEX txs_state ON txs (state, nonce)`,
  // Every signed version of a transaction (the first send and each fee bump at the same nonce).
  `CREATE TABLE tx_attempts (
     hash TEXT PRIMARY KEY,
     tx_id INTEGER NOT NULL REFERENCES txs (id),
     raw TEXT NOT NULL,
     max_fee TEXT NOT NULL,
     priority_fee TEXT NOT NULL,
     sent_block INTEGER,
     created_at INTEGER NOT NULL
   ) STRICT`,
  `CREATE INDEX tx_attempts_tx ON tx_attempts (tx_id)`,
  // Recent canonical block headers this process has processed, for reorg detection.
  `CREATE TABLE chain_blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent_hash TEXT NOT NULL, timestamp INTEGER NOT NULL) STRICT`,
];
