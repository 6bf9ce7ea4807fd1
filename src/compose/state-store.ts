// state-store.ts - the process's state database, opened by its composition
// root: the store directory's lock (one process per directory), then
// `<storeDir>/gridlink.db` brought to the schema every part registered
// (state-schema.ts). The root hands `db` to its parts and closes it last.
import { lockStoreDir } from '../util/dir-lock.js';
import { openDb, stateDbPath, type Db, type OpenDbOptions } from '../state/db.js';
import { STATE_MIGRATIONS } from './state-schema.js';

export interface StateStore {
  db: Db;
  /** Closes the database, then releases the directory's lock. */
  close(): void;
}

/** Locks `storeDir` (naming the live holder when taken) and opens its state database. */
export function openStateStore(storeDir: string, what: string): StateStore {
  const lock = lockStoreDir(storeDir, what);
  let db: Db;
  try {
    db = openStateDb(stateDbPath(storeDir));
  } catch (err) {
    lock.release();
    throw err;
  }
  return {
    db,
    close: () => {
      try {
        db.close();
      } finally {
        lock.release();
      }
    },
  };
}

/** A state database at `path` with the process's schema (readonly: refused unless already migrated). */
export function openStateDb(path: string, opts: Omit<OpenDbOptions, 'migrations'> = {}): Db {
  return openDb(path, { ...opts, migrations: STATE_MIGRATIONS });
}
