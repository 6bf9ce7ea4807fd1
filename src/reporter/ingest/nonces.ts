// nonces.ts - HMAC nonces seen within the accepted time window, in the
// `hmac_nonces` table of the state database. A nonce is remembered until its
// timestamp falls out of the window, after which the timestamp check alone
// rejects a replay.
//
// A claim is committed (synchronous=FULL) before the request is answered, so
// a request captured before a reporter restart is still refused after it.
// Expired rows are deleted when the cache opens and, while claims come in,
// every 10 s. Without a database (NonceCache.inMemory) the same table lives in
// an in-memory SQLite database and is forgotten on restart.
import Database from 'better-sqlite3';

import type { Db } from '../../state/db.js';
import { HMAC_NONCES_SCHEMA } from './schema.js';

export type NonceClaim = 'ok' | 'replayed' | 'full';

const PRUNE_EVERY_S = 10;

export class NonceCache {
  private count: number;
  private lastPrune = Number.NEGATIVE_INFINITY;
  private readonly pruneStmt: Database.Statement<[number], unknown>;
  private readonly claimTx: (nonce: string, until: number, nowS: number) => NonceClaim;
  private readonly countStmt: Database.Statement<[], number>;
  private closed = false;

  private constructor(
    private readonly db: Db,
    private readonly windowS: number,
    private readonly maxEntries: number,
    private readonly ownsDb: boolean,
  ) {
    this.pruneStmt = db.prepare<[number]>('DELETE FROM hmac_nonces WHERE expires_at < ?');
    const get = db.prepare<[string], number>('SELECT expires_at FROM hmac_nonces WHERE nonce = ?').pluck().safeIntegers(false);
    const put = db.prepare<[string, number]>(
      'INSERT INTO hmac_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO UPDATE SET expires_at = excluded.expires_at',
    );
    const tx = db.transaction((nonce: string, until: number, nowS: number): NonceClaim => {
      const exp = get.get(nonce);
      if (exp !== undefined && exp >= nowS) return 'replayed';
      if (exp === undefined && this.count >= this.maxEntries) {
        this.prune(nowS, true);
        if (this.count >= this.maxEntries) return 'full';
      }
      put.run(nonce, until);
      if (exp === undefined) this.count++;
      return 'ok';
    });
    this.claimTx = (nonce, until, nowS) => tx.immediate(nonce, until, nowS);
    this.countStmt = db.prepare<[], number>('SELECT count(*) FROM hmac_nonces').pluck().safeIntegers(false);
    this.count = this.countStmt.get()!;
  }

  /**
   * The nonces of the state database `db` (migrated by openDb): expired rows
   * are deleted now. close() leaves the database open.
   */
  static open(db: Db, windowS: number, nowS: number, maxEntries = 1_000_000): NonceCache {
    const c = new NonceCache(db, windowS, maxEntries, false);
    c.prune(nowS, true);
    return c;
  }

  /** Nonces held in memory only: forgotten when the process ends. */
  static inMemory(windowS: number, maxEntries = 1_000_000): NonceCache {
    const db = new Database(':memory:');
    for (const sql of HMAC_NONCES_SCHEMA) db.exec(sql);
    return new NonceCache(db, windowS, maxEntries, true);
  }

  /** Nonces held (some may have expired since the last prune). */
  get size(): number {
    return this.count;
  }

  /**
   * Records `nonce` (signed at `ts`, unix seconds); 'replayed' if it is
   * already held, 'full' if the cache is at its bound (try again later).
   * Resolves once the nonce is committed; rejects when it could not be.
   */
  async claim(nonce: string, ts: number, nowS: number): Promise<NonceClaim> {
    if (this.closed) throw new Error('nonce cache is closed');
    // Inside someone else's transaction ours would be a savepoint, not on disk when we answer.
    if (this.db.inTransaction) throw new Error('the state database is inside another transaction');
    try {
      this.prune(nowS);
      return this.claimTx(nonce, ts + this.windowS + 1, nowS);
    } catch (err) {
      // A rolled-back prune may have been counted: count again.
      try {
        this.count = this.countStmt.get()!;
      } catch {
        // the next claim counts on
      }
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsDb) this.db.close();
  }

  private prune(nowS: number, force = false): void {
    if (!force && nowS - this.lastPrune < PRUNE_EVERY_S) return;
    this.lastPrune = nowS;
    this.count -= this.pruneStmt.run(nowS).changes;
  }
}
