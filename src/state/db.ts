// db.ts - the supervisor process's one durable store: a SQLite database
// (better-sqlite3, WAL) holding the ingest's events and HMAC nonces, the job
// map, the reports and the transaction pipeline, so one SQLite transaction
// can move any of them together (a crash at any instant loses nothing and
// derives nothing twice).
//
// synchronous=FULL: a commit is on disk when it returns (the ingest answers a
// relay, and the pipeline broadcasts a signed transaction, only after that).
//
// The ingest's writer thread writes the events through a connection of its
// own, so a connection opened here is not the only writer: its
// db.transaction() begins IMMEDIATE (takes the write lock first, waiting up
// to busy_timeout). A DEFERRED one that read before writing would fail at
// once with SQLITE_BUSY when the writer thread had committed in between.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

import Database from 'better-sqlite3';

import type { Migration } from './migrations.js';

export type Db = Database.Database;

/** The database's file name inside a store directory. */
export const STATE_DB_FILE = 'gridlink.db';

export const stateDbPath = (storeDir: string): string => join(storeDir, STATE_DB_FILE);

export interface OpenDbOptions {
  /**
   * The schema's versions, registered by the process's composition root
   * (src/compose/state-schema.ts, STATE_MIGRATIONS; openStateDb there passes
   * them); tests of one part pass that part's own.
   */
  migrations: readonly Migration[];
  readonly?: boolean;
}

export class DbError extends Error {
  override readonly name = 'DbError';
}

/**
 * Opens (creating when missing) the database at `path` and brings its schema
 * to the current version, one migration per transaction. A database written
 * by a newer gridlink is refused rather than misread.
 */
export function openDb(path: string, opts: OpenDbOptions): Db {
  const { migrations } = opts;
  if (!opts.readonly) mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let db: Db;
  try {
    db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: opts.readonly ?? false });
  } catch (err) {
    throw new DbError(`cannot open the state database ${path}: ${(err as Error).message} (check the directory exists and is writable by this user)`);
  }
  try {
    db.pragma('busy_timeout = 5000');
    if (!opts.readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      const transaction = db.transaction.bind(db);
      db.transaction = ((fn: Parameters<Db['transaction']>[0]) => transaction(fn).immediate) as Db['transaction'];
    }
    db.pragma('foreign_keys = ON');
    const current = db.pragma('user_version', { simple: true }) as number;
    const latest = migrations[migrations.length - 1]?.version ?? 0;
    if (current > latest) {
      throw new DbError(
        `the state database ${path} has schema version ${current}, newer than this gridlink's ${latest}: run the gridlink version that wrote it, or restore a backup`,
      );
    }
    if (opts.readonly) {
      if (current < latest) throw new DbError(`the state database ${path} is at schema version ${current}; start the reporter once to migrate it to ${latest}`);
      return db;
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      db.transaction(() => {
        for (const sql of m.statements) db.exec(sql);
        db.pragma(`user_version = ${m.version}`);
      })();
    }
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/** `db.prepare(sql)`, compiled once per connection (for statements run per event or per report). */
export function stmt(db: Db, sql: string): Database.Statement {
  let m = statements.get(db);
  if (!m) statements.set(db, (m = new Map()));
  let st = m.get(sql);
  if (!st) m.set(sql, (st = db.prepare(sql)));
  return st;
}

/** A key/value row of the `meta` table (cursors and small settings). */
export function getMeta(db: Db, key: string): string | undefined {
  const row = stmt(db, 'SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setMeta(db: Db, key: string, value: string): void {
  stmt(db, 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
}
