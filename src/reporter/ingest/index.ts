// index.ts - the reporter's ingest endpoint: receive, verify, dedupe, persist.
export { resolveIngestConfig, ingestConfigSchema, ConfigError, DEFAULT_INGEST_HOST, DEFAULT_INGEST_PORT } from './config.js';
export type { IngestConfig, IngestConfigInput } from './config.js';
export { Authenticator, AUTH_FAILURE_REASONS } from './auth.js';
export type { AuthFailure, AuthFailureReason, AuthSuccess, ParsedAuth, MungeDecodeFn } from './auth.js';
export { readHmacKeyFile, KeyFileError, MIN_HMAC_KEY_BYTES } from './keyfile.js';
export { EventStore, StoreWriteError, STATE_DB_FILE, MAX_STORED_SEQ, seqProblem } from './store.js';
export type { StoredRecord, AppendBatch, AppendResult, StoreCounts, EventStoreOptions, Daemon } from './store.js';
export { NonceCache } from './nonces.js';
export type { NonceClaim } from './nonces.js';
export { INGEST_SCHEMA_V1 } from './schema.js';
export { createIngestMetrics } from './metrics.js';
export type { IngestMetrics } from './metrics.js';
export { startIngestServer } from './server.js';
export type { IngestServer, IngestServerDeps } from './server.js';
