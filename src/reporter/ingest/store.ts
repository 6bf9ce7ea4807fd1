// store.ts - the reporter's durable event store: the `events` table of the
// state database (src/state/db.ts; the table is in ./schema.ts).
//
// append() hands a batch to the store's writer thread (./writer.ts), which
// commits it with the batches that arrive meanwhile, one transaction for
// several batches (group commit), on a connection of its own: the event
// loop never waits for the fsync. Each batch's rows go through prepared
// `INSERT ... ON CONFLICT (spool_id, seq) DO NOTHING` statements (32 rows
// per statement), so a record already stored (a relay's retry, or twice in
// one batch) is counted as a duplicate and stored once. The database runs
// with synchronous=FULL: the batch is on disk when append() resolves, and
// the server answers only then. A batch that fails is rolled back alone
// (a savepoint per batch): nothing of it is stored.
//
// Records are read back on the caller's connection (the state database of
// the process) in store order (id) with eventsAfter(), the chain reporter's
// cursor, or by SLURM job id with eventsForJob(); WAL gives these reads the
// committed state, so a batch is readable once append() resolved. The
// event is kept as JSON text: JSON.stringify escapes
// lone surrogates (bytes that were not UTF-8, see src/native/bytes.ts) as
// \udcNN, so they round-trip; SQLite TEXT cannot hold them (better-sqlite3
// would write U+FFFD), which is why a host with them also goes to host_json.
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';

import type Database from 'better-sqlite3';
import type { Logger } from 'pino';

import type { WireEvent } from '../../relay/protocol.js';
import { openDb, stateDbPath, STATE_DB_FILE, type Db } from '../../state/db.js';
import type { Migration } from '../../state/migrations.js';
import { lockStoreDir, type DirLock } from '../../util/dir-lock.js';
import { StoreWriter, WriterError, type Column } from './writer.js';

export type Daemon = 'slurmctld' | 'slurmd';

/** One stored record: a wire event and where it came from. */
export interface StoredRecord {
  spoolId: string;
  /** u64 as decimal (canonical: no leading zeros). */
  seq: string;
  host: string;
  daemon: Daemon;
  /** Unix milliseconds when the store's writer began the transaction that stored it (unless the appender gave one). */
  receivedAt: number;
  event: WireEvent;
}

export interface AppendBatch {
  spoolId: string;
  host: string;
  daemon: Daemon;
  /** Default: the time the writer's transaction began. */
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
  /** Transactions committed by the writer (each one on disk, holding one or more batches) since this EventStore was made. */
  commits: number;
}

export interface EventStoreOptions {
  logger?: Logger;
  /** After each group commit: batches committed, rows, milliseconds from BEGIN to COMMIT (metrics). */
  onCommit?: (batches: number, rows: number, ms: number) => void;
}

/** Raised to the caller of append() when the batch could not be stored: nothing of it is stored. */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
}

export { STATE_DB_FILE };

/** The largest seq the store keeps (SQLite INTEGER is int64); the spools start at 1. */
export const MAX_STORED_SEQ = (1n << 63n) - 1n;

const DECIMAL_U64_RE = /^\d{1,20}$/;

/** Why the store cannot keep this wire seq, or undefined when it can. */
export function seqProblem(seq: string): string | undefined {
  if (!DECIMAL_U64_RE.test(seq)) return `seq ${JSON.stringify(seq.slice(0, 32))} is not a decimal u64`;
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
  private readonly opts: EventStoreOptions;
  private readonly owned: { lock: DirLock } | undefined;
  /** Started by the first append (a store only read from has no thread). */
  private writer: StoreWriter | undefined;
  private readonly hasStmt: Database.Statement<[string, bigint], unknown>;
  private readonly afterStmt: Database.Statement<[number, number], Row>;
  private readonly jobStmt: Database.Statement<[number, number], Row>;
  private records: number;
  private commits = 0;
  private closed = false;
  private onBroken: ((err: Error) => void) | undefined;
  /** Resolves with the reason when the writer takes no more batches (see failure); never while it works. */
  readonly broken: Promise<Error> = new Promise((resolve) => (this.onBroken = resolve));

  /**
   * A store on an open state database (openDb; migrated). close() leaves the
   * database open: its owner closes it. (`owned` is for EventStore.open.)
   */
  constructor(db: Db, opts: EventStoreOptions = {}, owned?: { lock: DirLock }) {
    this.db = db;
    this.path = db.name;
    this.dir = dirname(db.name);
    this.log = opts.logger;
    this.opts = opts;
    this.owned = owned;
    this.hasStmt = db.prepare<[string, bigint]>('SELECT 1 FROM events WHERE spool_id = ? AND seq = ?').pluck().safeIntegers(false);
    const columns = 'id, spool_id, CAST(seq AS TEXT) AS seq, host, host_json, daemon, received_at, event';
    this.afterStmt = db.prepare<[number, number], Row>(`SELECT ${columns} FROM events WHERE id > ? ORDER BY id LIMIT ?`).safeIntegers(false);
    this.jobStmt = db.prepare<[number, number], Row>(`SELECT ${columns} FROM events WHERE job_id = ? AND id <= ? ORDER BY id`).safeIntegers(false);
    this.records = db.prepare('SELECT count(*) FROM events').pluck().safeIntegers(false).get() as number;
  }

  /**
   * Opens (creating if needed) the state database `dir/gridlink.db` for the
   * standalone ingest, taking the directory's lock (one reporter per
   * directory), with the schema's versions the process registered
   * (`migrations`: src/compose/state-schema.ts). close() closes the database
   * and releases the lock.
   */
  static open(dir: string, opts: EventStoreOptions & { migrations: readonly Migration[] }): EventStore {
    const lock = lockStoreDir(dir, 'event store');
    let db: Db | undefined;
    try {
      db = openDb(stateDbPath(dir), { migrations: opts.migrations });
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

  /** Set when the writer can take no more batches (its thread died, or a failed write left the database unusable): every append then fails until restart. */
  get failure(): Error | undefined {
    return this.writer?.failure;
  }

  /** Runs a PRAGMA on the writer thread's connection (tests: `max_page_count` makes the disk "full" for the writer). */
  async writerPragma(pragma: string): Promise<unknown> {
    return this.startWriter().pragma(pragma);
  }

  private startWriter(): StoreWriter {
    if (this.writer) return this.writer;
    if (this.closed) throw new StoreWriteError('event store is closed');
    if (this.db.memory || this.db.readonly) {
      throw new StoreWriteError(`event store: ${this.path} is ${this.db.memory ? 'an in-memory' : 'a read-only'} database; the writer thread needs a writable database file`);
    }
    this.writer = new StoreWriter({
      path: this.path,
      insertOne: insertSql(1),
      insertMany: insertSql(ROWS_PER_INSERT),
      rowsPerInsert: ROWS_PER_INSERT,
      width: INSERT_COLUMNS.length,
      stampColumn: INSERT_COLUMNS.indexOf('received_at'),
      onCommit: (batches, rows, ms) => {
        this.commits++;
        this.opts.onCommit?.(batches, rows, ms);
      },
      onBroken: (err) => {
        this.log?.fatal({ err, path: this.path }, 'event store: broken; no batch can be stored until the reporter is restarted');
        this.onBroken?.(err);
      },
    });
    return this.writer;
  }

  /**
   * Stores the batch's records that are not stored yet, in the writer's next
   * transaction (with the batches handed over meanwhile), on disk before
   * resolving. Rejects with StoreWriteError when it could not:
   * nothing of the batch is stored then. Every seq must pass seqProblem().
   */
  async append(batch: AppendBatch): Promise<AppendResult> {
    if (this.closed) throw new StoreWriteError('event store is closed');
    const failure = this.failure;
    if (failure) throw new StoreWriteError(failure.message);
    // Unless given: stamped by the writer when its transaction begins (after any wait for the previous commit).
    const receivedAt = batch.receivedAt ?? null;
    const wellFormed = !LONE_SURROGATE_RE.test(batch.host);
    const host = wellFormed ? batch.host : batch.host.replace(/[\ud800-\udfff]/gu, '\ufffd');
    const hostJson = wellFormed ? null : JSON.stringify(batch.host);
    const rows = batch.events.length;
    if (rows === 0) return { stored: 0, duplicates: 0 };
    // Columns, not a value per cell: the batch crosses to the writer thread as a few buffers and one string.
    const seqs = new BigInt64Array(rows);
    const kinds = new Float64Array(rows);
    const jobIds = new Float64Array(rows);
    const events = new Array<string>(rows);
    for (let i = 0; i < rows; i++) {
      const e = batch.events[i]!;
      const q = DECIMAL_U64_RE.test(e.seq) ? BigInt(e.seq) : -1n;
      if (q < 0n || q > MAX_STORED_SEQ) throw new RangeError(`event store: ${seqProblem(e.seq)}; reject the record before append()`);
      seqs[i] = q;
      kinds[i] = e.kind;
      jobIds[i] = e.jobId;
      events[i] = JSON.stringify(e);
    }
    const byColumn: Record<(typeof INSERT_COLUMNS)[number], Column> = {
      spool_id: { same: batch.spoolId },
      seq: { each: seqs },
      host: { same: host },
      host_json: { same: hostJson },
      daemon: { same: batch.daemon },
      received_at: { same: receivedAt },
      kind: { each: kinds },
      job_id: { each: jobIds },
      event: { lines: events.join('\n') },
    };
    let stored: number;
    try {
      stored = await this.startWriter().append(INSERT_COLUMNS.map((c) => byColumn[c]), rows);
    } catch (err) {
      if (!(err instanceof WriterError)) throw err;
      if (err.code !== 'BROKEN' && err.code !== 'CLOSED') {
        this.log?.error({ err, path: this.path }, 'event store: write failed; batch not stored (free space or fix the disk; the relay retries)');
      }
      throw new StoreWriteError(err.code === 'CLOSED' ? 'event store is closed' : `event store: writing ${this.path} failed: ${err.message}`);
    }
    this.records += stored;
    return { stored, duplicates: rows - stored };
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

  /**
   * Stops appending: batches handed over are committed and the writer thread
   * ends. When the store opened its database (EventStore.open), also closes
   * it and releases the lock; otherwise the database stays open for reads.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writer?.close();
    if (this.owned) {
      this.db.close();
      this.owned.lock.release();
    }
  }
}
