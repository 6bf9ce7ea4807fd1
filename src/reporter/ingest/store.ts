// store.ts - the reporter's durable event store: the `events` table of the
// state database (src/state/db.ts; the table is in ./schema.ts).
//
// append() stores a batch in one SQLite transaction of prepared
// `INSERT ... ON CONFLICT (spool_id, seq) DO NOTHING` statements (32 rows per
// statement), so a record already stored (a relay's retry, or twice in one
// batch) is counted as a duplicate and stored once. The database runs with
// synchronous=FULL: the batch is on disk when append() returns, and the
// server answers only then. A transaction that fails is rolled back: nothing
// of the batch is stored.
//
// Records are read back in store order (id) with eventsAfter(), the chain
// reporter's cursor, or by SLURM job id with eventsForJob(). The event is kept as JSON text: JSON.stringify escapes
// lone surrogates (bytes that were not UTF-8, see src/native/bytes.ts) as
// \udcNN, so they round-trip; SQLite TEXT cannot hold them (better-sqlite3
// would write U+FFFD), which is why a host with them also goes to host_json.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';

import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

import type { WireEvent } from '../../relay/protocol.js';
import { openDb, stateDbPath, STATE_DB_FILE, type Db } from '../../state/db.js';
import { lockStoreDir, type DirLock } from './lock.js';

export type Daemon = 'slurmctld' | 'slurmd';

/** One stored record: a wire event and where it came from. */
export interface StoredRecord {
  spoolId: string;
  /** u64 as decimal (canonical: no leading zeros). */
  seq: string;
  host: string;
  daemon: Daemon;
  /** Unix milliseconds when the reporter accepted it. */
  receivedAt: number;
  event: WireEvent;
}

export interface AppendBatch {
  spoolId: string;
  host: string;
  daemon: Daemon;
  receivedAt?: number;
  events: WireEvent[];
}

export interface AppendResult {
  stored: number;
  duplicates: number;
}

export interface StoreCounts {
  /** Records in the store. */
  records: number;
  /** Append transactions committed (each one on disk) since this EventStore was made. */
  commits: number;
}

export interface EventStoreOptions {
  logger?: Logger;
}

/** Raised to the caller of append() when the batch could not be stored: nothing of it is stored. */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
}

export { STATE_DB_FILE };

/** The largest seq the store keeps (SQLite INTEGER is int64); the spools start at 1. */
export const MAX_STORED_SEQ = (1n << 63n) - 1n;

/** Why the store cannot keep this wire seq, or undefined when it can. */
export function seqProblem(seq: string): string | undefined {
  if (!/^\d{1,20}$/.test(seq)) return `seq ${JSON.stringify(seq.slice(0, 32))} is not a decimal u64`;
  if (BigInt(seq) > MAX_STORED_SEQ) return `seq ${seq} is above 2^63-1 (${MAX_STORED_SEQ}), the largest the store keeps`;
  return undefined;
}

// A lone surrogate: in a `u` regex a surrogate pair is one code point, so only unpaired halves match.
const LONE_SURROGATE_RE = /[\ud800-\udfff]/u;
// Files of the JSON-lines store this one replaced.
const OLD_STORE_FILE_RE = /^(seg-\d{8}\.jsonl|hmac-nonces)$/;

interface Row {
  id: number;
  spool_id: string;
  seq: string;
  host: string;
  host_json: string | null;
  daemon: Daemon;
  received_at: number;
  event: string;
}

// One row's values, in INSERT_COLUMNS order.
const INSERT_COLUMNS = ['spool_id', 'seq', 'host', 'host_json', 'daemon', 'received_at', 'kind', 'job_id', 'event'] as const;
// Rows per INSERT statement: fewer calls into SQLite per batch (the rest of a batch goes one row at a time).
const ROWS_PER_INSERT = 32;
const insertSql = (rows: number): string =>
  `INSERT INTO events (${INSERT_COLUMNS.join(', ')}) VALUES ${Array.from({ length: rows }, () => `(${INSERT_COLUMNS.map(() => '?').join(', ')})`).join(', ')}
   ON CONFLICT (spool_id, seq) DO NOTHING`;

function fromRow(r: Row): { id: number; record: StoredRecord } {
  return {
    id: r.id,
    record: {
      spoolId: r.spool_id,
      seq: r.seq,
      host: r.host_json === null ? r.host : (JSON.parse(r.host_json) as string),
      daemon: r.daemon,
      receivedAt: r.received_at,
      event: JSON.parse(r.event) as WireEvent,
    },
  };
}

export class EventStore {
  /** The state database; shared with the rest of the process unless the store opened it (EventStore.open). */
  readonly db: Db;
  /** The database file, for logs. */
  readonly path: string;
  /** The directory of the database file (the `--store` directory when opened by EventStore.open). */
  readonly dir: string;
  private readonly log: Logger | undefined;
  private readonly owned: { lock: DirLock } | undefined;
  /** Inserts `rows` rows whose values are laid out flat in `values`, in one transaction. */
  private readonly insertBatch: (values: unknown[], rows: number) => AppendResult;
  private readonly hasStmt: Database.Statement<[string, bigint], unknown>;
  private readonly afterStmt: Database.Statement<[number, number], Row>;
  private readonly jobStmt: Database.Statement<[number, number], Row>;
  private records: number;
  private commits = 0;
  private broken: Error | undefined;
  private closed = false;

  /**
   * A store on an open state database (openDb; migrated). close() leaves the
   * database open: its owner closes it. (`owned` is for EventStore.open.)
   */
  constructor(db: Db, opts: EventStoreOptions = {}, owned?: { lock: DirLock }) {
    this.db = db;
    this.path = db.name;
    this.dir = dirname(db.name);
    this.log = opts.logger;
    this.owned = owned;
    const one = db.prepare<unknown[]>(insertSql(1));
    const many = db.prepare<unknown[]>(insertSql(ROWS_PER_INSERT));
    const w = INSERT_COLUMNS.length;
    const tx = db.transaction((values: unknown[], rows: number): AppendResult => {
      let stored = 0;
      let i = 0;
      for (; i + ROWS_PER_INSERT <= rows; i += ROWS_PER_INSERT) stored += many.run(values.slice(i * w, (i + ROWS_PER_INSERT) * w)).changes;
      for (; i < rows; i++) stored += one.run(values.slice(i * w, (i + 1) * w)).changes;
      return { stored, duplicates: rows - stored };
    });
    this.insertBatch = (values, rows) => tx.immediate(values, rows);
    this.hasStmt = db.prepare<[string, bigint]>('SELECT 1 FROM events WHERE spool_id = ? AND seq = ?').pluck().safeIntegers(false);
    const columns = 'id, spool_id, CAST(seq AS TEXT) AS seq, host, host_json, daemon, received_at, event';
    this.afterStmt = db.prepare<[number, number], Row>(`SELECT ${columns} FROM events WHERE id > ? ORDER BY id LIMIT ?`).safeIntegers(false);
    this.jobStmt = db.prepare<[number, number], Row>(`SELECT ${columns} FROM events WHERE job_id = ? AND id <= ? ORDER BY id`).safeIntegers(false);
    this.records = db.prepare('SELECT count(*) FROM events').pluck().safeIntegers(false).get() as number;
  }

  /**
   * Opens (creating if needed) the state database `dir/gridlink.db` for the
   * standalone ingest, taking the directory's lock (one reporter per
   * directory). close() closes the database and releases the lock.
   */
  static open(dir: string, opts: EventStoreOptions = {}): EventStore {
    const lock = lockStoreDir(dir, 'event store');
    let db: Db | undefined;
    try {
      db = openDb(stateDbPath(dir));
      const store = new EventStore(db, opts, { lock });
      const old = readdirSync(dir).filter((f) => OLD_STORE_FILE_RE.test(f));
      if (old.length > 0) {
        opts.logger?.warn(
          { dir, files: old.slice(0, 5), count: old.length },
          `event store: ${dir} holds files of the earlier JSON-lines store; their records are not read (this reporter keeps everything in ${STATE_DB_FILE}): keep them as an archive or delete them`,
        );
      }
      opts.logger?.info({ path: store.path, records: store.records }, 'event store opened');
      return store;
    } catch (err) {
      db?.close();
      lock.release();
      throw err;
    }
  }

  /** True when (spoolId, seq) is stored. */
  has(spoolId: string, seq: string | bigint): boolean {
    const q = typeof seq === 'bigint' ? seq : /^\d{1,20}$/.test(seq) ? BigInt(seq) : -1n;
    if (q < 0n || q > MAX_STORED_SEQ) return false;
    return this.hasStmt.get(spoolId, q) !== undefined;
  }

  /**
   * Deletes up to `limit` records with id <= `upToId` (already derived by the
   * reporter) received before `beforeMs`; returns how many. Their (spool id,
   * seq) is then forgotten: keep them longer than a relay could re-send them.
   */
  prune(upToId: number, beforeMs: number, limit = 10_000): number {
    const n = this.db
      .prepare('DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id <= ? AND received_at < ? ORDER BY id LIMIT ?)')
      .run(upToId, beforeMs, limit).changes;
    this.records -= n;
    return n;
  }

  counts(): StoreCounts {
    return { records: this.records, commits: this.commits };
  }

  /** Set when a failed write left the database unusable: every append then fails until restart. */
  get failure(): Error | undefined {
    return this.broken;
  }

  /**
   * Stores the batch's records that are not stored yet, in one transaction,
   * on disk before resolving. Rejects with StoreWriteError when it could not:
   * nothing of the batch is stored then. Every seq must pass seqProblem().
   */
  async append(batch: AppendBatch): Promise<AppendResult> {
    if (this.closed) throw new StoreWriteError('event store is closed');
    if (this.broken) throw new StoreWriteError(this.broken.message);
    const receivedAt = batch.receivedAt ?? Date.now();
    const wellFormed = !LONE_SURROGATE_RE.test(batch.host);
    const host = wellFormed ? batch.host : batch.host.replace(/[\ud800-\udfff]/gu, '\ufffd');
    const hostJson = wellFormed ? null : JSON.stringify(batch.host);
    const values: unknown[] = [];
    for (const e of batch.events) {
      const bad = seqProblem(e.seq);
      if (bad) throw new RangeError(`event store: ${bad}; reject the record before append()`);
      values.push(batch.spoolId, BigInt(e.seq), host, hostJson, batch.daemon, receivedAt, e.kind, e.jobId, JSON.stringify(e));
    }
    const rows = batch.events.length;
    if (rows === 0) return { stored: 0, duplicates: 0 };
    // Inside someone else's transaction ours would be a savepoint, not on disk when we answer.
    if (this.db.inTransaction) {
      throw new StoreWriteError(`event store: the state database ${this.path} is inside another transaction; batch not stored, retry`);
    }
    let r: AppendResult;
    try {
      r = this.insertBatch(values, rows);
    } catch (err) {
      this.afterFailure(err as Error);
      throw new StoreWriteError(`event store: writing ${this.path} failed: ${(err as Error).message}`);
    }
    this.commits++;
    this.records += r.stored;
    return r;
  }

  /** After a failed transaction: make sure it is rolled back, or give up until restart. */
  private afterFailure(cause: Error & { code?: string }): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch (err) {
      this.broken = new Error(
        `event store ${this.path} is unusable after a failed write (${cause.message}) and a failed rollback (${(err as Error).message}); fix the disk and restart the reporter (SQLite recovers the last committed state at open)`,
      );
    }
    if (!this.broken && (cause.code === 'SQLITE_CORRUPT' || cause.code === 'SQLITE_NOTADB')) {
      this.broken = new Error(`event store ${this.path} is corrupt (${cause.message}); stop the reporter and restore the database from a backup`);
    }
    if (this.broken) this.log?.fatal({ err: this.broken }, 'event store: broken');
    else this.log?.error({ err: cause, path: this.path }, 'event store: write failed; batch not stored (free space or fix the disk; the relay retries)');
  }

  /** Up to `limit` records with id > afterId, in id (store) order. Start with afterId 0. */
  eventsAfter(afterId: number, limit: number): Array<{ id: number; record: StoredRecord }> {
    return this.afterStmt.all(afterId, limit).map(fromRow);
  }

  /** The records of one SLURM job id (event.jobId) with id <= uptoId, in id order. */
  eventsForJob(slurmJobId: number, uptoId: number): Array<{ id: number; record: StoredRecord }> {
    return this.jobStmt.all(slurmJobId, uptoId).map(fromRow);
  }

  /**
   * Stored records after id `after` (default: all) in store order. The
   * iteration ends at the records stored when it reaches the end (it does not
   * wait for more).
   */
  async *events(opts: { after?: number; pageSize?: number } = {}): AsyncGenerator<{ id: number; record: StoredRecord }> {
    let after = opts.after ?? 0;
    const page = opts.pageSize ?? 1000;
    for (;;) {
      const rows = this.eventsAfter(after, page);
      yield* rows;
      if (rows.length < page) return;
      after = rows[rows.length - 1]!.id;
    }
  }

  /** Stops appending; when the store opened its database (EventStore.open), closes it and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) {
      this.db.close();
      this.owned.lock.release();
    }
  }
}
