// store.ts - the customers' uids and gids of resolver "gridlink", in the
// state database (schema.ts). A customer gets a uid once, at its first job,
// and keeps it for ever: rows are never deleted or changed, and the next uid
// only grows, so a uid is never handed out twice, across restarts and
// re-installs from the same database. The gid is the uid (a private group of
// the customer's name).
import type { Db } from '../state/db.js';
import { CUSTOMER_NAME_RE } from './format.js';

export interface UserRow {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** First version of the users database file holding the user; undefined until one is written. */
  dbVersion: number | undefined;
}

export interface UserStoreOptions {
  /** The first uid handed out (>= minUid). */
  firstUid: number;
  /** No uid above this is handed out. */
  maxUid: number;
  /** Where homes are: <homeRoot>/<name>. */
  homeRoot: string;
  /** uids and gids the host already uses (its /etc/passwd and /etc/group): never handed out. */
  taken?: () => { uids: ReadonlySet<number>; gids: ReadonlySet<number> };
}

export class UserIdsExhaustedError extends Error {
  override readonly name = 'UserIdsExhaustedError';
}

const NEXT_UID = 'userdb.next_uid';
const VERSION = 'userdb.version';
const FLAGS = 'userdb.flags';

interface RawRow {
  name: string;
  uid: number;
  gid: number;
  db_version: number | null;
}

export class UserStore {
  private readonly getStmt;
  private readonly metaGet;
  private readonly metaSet;
  private readonly insert;
  private readonly uidUsed;

  constructor(
    private readonly db: Db,
    private readonly opts: UserStoreOptions,
  ) {
    if (opts.firstUid > opts.maxUid) throw new Error(`firstUid ${opts.firstUid} is above maxUid ${opts.maxUid}`);
    this.getStmt = db.prepare<[string], RawRow>('SELECT name, uid, gid, db_version FROM gridlink_users WHERE name = ?');
    this.metaGet = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    this.metaSet = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.insert = db.prepare('INSERT INTO gridlink_users (name, uid, gid, db_version, created_at) VALUES (?, ?, ?, NULL, ?)');
    this.uidUsed = db.prepare<[number, number], { n: number }>('SELECT 1 AS n FROM gridlink_users WHERE uid = ? OR gid = ? LIMIT 1');
  }

  private row(r: RawRow): UserRow {
    return { name: r.name, uid: r.uid, gid: r.gid, home: `${this.opts.homeRoot.replace(/\/+$/, '')}/${r.name}`, dbVersion: r.db_version ?? undefined };
  }

  private meta(key: string): number | undefined {
    const v = this.metaGet.get(key)?.value;
    return v === undefined ? undefined : Number(v);
  }

  get(name: string): UserRow | undefined {
    const r = this.getStmt.get(name);
    return r ? this.row(r) : undefined;
  }

  /** The customer's user, handed a new uid when it has none (one transaction: two callers never get two uids). */
  ensure(name: string, now = Date.now()): UserRow {
    if (!CUSTOMER_NAME_RE.test(name)) throw new Error(`${JSON.stringify(name)} is not a lower-case 0x address`);
    return this.db.transaction(() => {
      const have = this.getStmt.get(name);
      if (have) return this.row(have);
      const host = this.opts.taken?.() ?? { uids: new Set<number>(), gids: new Set<number>() };
      let uid = Math.max(this.meta(NEXT_UID) ?? 0, this.opts.firstUid);
      while (uid <= this.opts.maxUid && (host.uids.has(uid) || host.gids.has(uid) || this.uidUsed.get(uid, uid))) uid++;
      if (uid > this.opts.maxUid)
        throw new UserIdsExhaustedError(`every uid from ${this.opts.firstUid} to ${this.opts.maxUid} is handed out or used by this host: raise users.gridlink.maxUid`);
      this.insert.run(name, uid, uid, now);
      this.metaSet.run(NEXT_UID, String(uid + 1));
      return this.row({ name, uid, gid: uid, db_version: null });
    })();
  }

  /** The version of the users database the state database last assigned (0: none yet). */
  version(): number {
    return this.meta(VERSION) ?? 0;
  }

  /** Assigns the next version to every user no version holds yet; returns the version to write (unchanged when there was none). */
  nextVersion(): number {
    return this.db.transaction(() => {
      const cur = this.version();
      const pending = this.db.prepare('SELECT COUNT(*) AS n FROM gridlink_users WHERE db_version IS NULL').get() as { n: number };
      if (pending.n === 0) return cur;
      const v = cur + 1;
      this.db.prepare('UPDATE gridlink_users SET db_version = ? WHERE db_version IS NULL').run(v);
      this.metaSet.run(VERSION, String(v));
      return v;
    })();
  }

  /**
   * The version to write with these file flags (format.ts "!gridlink-flags", e.g. "enumerate"; "" none):
   * the current one when the flags are those it was written with, else the next (users unchanged):
   * a host holding the current version would not ask again, and would keep the old flags.
   * A database from before the flags counts as written with none.
   */
  versionForFlags(flags: string): number {
    return this.db.transaction(() => {
      const cur = this.version();
      if ((this.metaGet.get(FLAGS)?.value ?? '') === flags) return cur;
      this.metaSet.run(FLAGS, flags);
      this.metaSet.run(VERSION, String(cur + 1));
      return cur + 1;
    })();
  }

  /** Every user version `version` holds, by uid. */
  usersUpTo(version: number): UserRow[] {
    return this.db.prepare<[number], RawRow>('SELECT name, uid, gid, db_version FROM gridlink_users WHERE db_version <= ? ORDER BY uid').all(version).map((r) => this.row(r));
  }

  /** Every user, by uid (those no file holds yet too). */
  all(): UserRow[] {
    return this.db.prepare<[], RawRow>('SELECT name, uid, gid, db_version FROM gridlink_users ORDER BY uid').all().map((r) => this.row(r));
  }
}
