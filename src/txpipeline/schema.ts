// schema.ts - the transaction pipeline's tables in the state database (src/state).
export const TX_SCHEMA_V1: readonly string[] = [
  // One row per nonce this store signed for (sender = the signing address).
  // state: pending (signed, not in a canonical block), mined (in a canonical
  // block, not yet at the confirmation depth), confirmed (succeeded, at
  // depth), reverted (mined with status 0, at depth: the nonce is consumed),
  // lost (the nonce was used by a transaction this store did not sign).
  // Terminal: confirmed, reverted, lost. A lost row frees its nonce for a
  // hole filler, hence the partial unique index.
  `CREATE TABLE txs (
     id INTEGER PRIMARY KEY,
     sender TEXT NOT NULL,
     nonce INTEGER NOT NULL,
     kind TEXT NOT NULL,
     ref TEXT NOT NULL,
     to_addr TEXT NOT NULL,
     value TEXT NOT NULL DEFAULT '0',
     data TEXT NOT NULL,
     gas INTEGER NOT NULL,
     state TEXT NOT NULL,
     first_sent_block INTEGER,
     mined_hash TEXT,
     mined_block INTEGER,
     mined_block_hash TEXT,
     receipt_status TEXT,
     revert_data TEXT,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT`,
  `CREATE UNIQUE INDEX txs_sender_nonce ON txs (sender, nonce) WHERE state <> 'lost'`,
  `CREATE INDEX txs_state ON txs (state, nonce)`,
  `CREATE INDEX txs_kind_ref ON txs (kind, ref)`,
  // Every signed version of a transaction (the first send and each fee bump
  // at the same nonce): any of them may be the one mined. sent_block: the
  // head when a node last accepted this attempt (NULL: never accepted yet).
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
  // Recent canonical block headers the pipeline has processed, for reorg
  // detection; the highest one is the follow cursor.
  `CREATE TABLE chain_blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, parent_hash TEXT NOT NULL, timestamp INTEGER NOT NULL) STRICT`,
];
