// nonces.ts - HMAC nonces seen within the accepted time window. A nonce is
// remembered until its timestamp falls out of the window, after which the
// timestamp check alone rejects a replay.
//
// With a journal file the memory survives a restart: each claimed nonce is
// appended as one line `<expiryUnixS> <key>\n` and fdatasync'd before the
// request is answered, and opening the cache loads the lines not yet expired
// (then rewrites the file with only those). Without it, a request captured
// in the last window before a restart would be accepted again after it.
import { closeSync, fdatasyncSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export type NonceClaim = 'ok' | 'replayed' | 'full';

export class NonceCache {
  private readonly seen = new Map<string, number>();
  private lastPrune = 0;
  private journal: { path: string; fh: FileHandle; lines: number } | undefined;
  /** Journal writes and compaction run one at a time, in claim order. */
  private io: Promise<void> = Promise.resolve();

  constructor(
    private readonly windowS: number,
    private readonly maxEntries = 1_000_000,
  ) {}

  /**
   * A cache backed by the journal at `path` (created if missing): nonces
   * journaled earlier and not yet expired at `nowS` are held again.
   * A line that does not parse (a torn last write) is skipped.
   */
  static async open(path: string, windowS: number, nowS: number, maxEntries?: number): Promise<NonceCache> {
    const c = new NonceCache(windowS, maxEntries);
    let text = '';
    try {
      text = readFileSync(path, 'latin1');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    for (const line of text.split('\n')) {
      const m = /^(\d{1,12}) (\S{1,256})$/.exec(line);
      if (m && Number(m[1]) >= nowS) c.seen.set(m[2]!, Number(m[1]));
    }
    await c.attachJournal(path);
    return c;
  }

  get size(): number {
    return this.seen.size;
  }

  /**
   * Records `nonce` (signed at `ts`, unix seconds); 'replayed' if it is
   * already held, 'full' if the cache is at its bound (try again later).
   * With a journal, resolves only once the nonce is on disk.
   */
  async claim(nonce: string, ts: number, nowS: number): Promise<NonceClaim> {
    this.prune(nowS);
    const exp = this.seen.get(nonce);
    if (exp !== undefined && exp >= nowS) return 'replayed';
    if (exp === undefined && this.seen.size >= this.maxEntries) {
      this.prune(nowS, true);
      if (this.seen.size >= this.maxEntries) return 'full';
    }
    const until = ts + this.windowS + 1;
    this.seen.set(nonce, until);
    if (this.journal) await this.serial(() => this.append(`${until} ${nonce}\n`, nowS));
    return 'ok';
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.journal?.fh.close();
      this.journal = undefined;
    });
  }

  private serial(op: () => Promise<void>): Promise<void> {
    const run = this.io.then(op);
    this.io = run.catch(() => undefined);
    return run;
  }

  private async append(line: string, nowS: number): Promise<void> {
    const j = this.journal;
    if (!j) return;
    await j.fh.appendFile(line, 'latin1');
    await j.fh.datasync();
    if (++j.lines > 2 * this.seen.size + 10_000) {
      this.prune(nowS, true);
      await this.attachJournal(j.path);
    }
  }

  /** Rewrites the journal with the live nonces only (tmp file, fsync, rename), then appends to it. */
  private async attachJournal(path: string): Promise<void> {
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      let out = '';
      for (const [k, exp] of this.seen) out += `${exp} ${k}\n`;
      writeSync(fd, out, null, 'latin1');
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dfd = openSync(dirname(path), 'r');
    try {
      fdatasyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    const old = this.journal;
    this.journal = { path, fh: await open(path, 'a', 0o600), lines: this.seen.size };
    await old?.fh.close();
  }

  private prune(nowS: number, force = false): void {
    if (!force && nowS - this.lastPrune < 10) return;
    this.lastPrune = nowS;
    for (const [k, exp] of this.seen) if (exp < nowS) this.seen.delete(k);
  }
}
