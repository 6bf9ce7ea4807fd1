// store.ts - the reporter's durable event store.
//
// Append-only JSON-lines segment files `seg-NNNNNNNN.jsonl` in one directory,
// one line per accepted record:
//   {"spoolId":..,"seq":..,"host":..,"daemon":..,"receivedAt":..,"event":{..}}
// An append is written and fdatasync'd before its promise resolves; appends
// are serialized through one writer and everything queued meanwhile shares
// one write + one fdatasync (group commit). The dedupe index (spoolId -> set
// of seqs) lives in memory and is rebuilt from the files when the store opens.
// A torn last line (kill -9 or power loss mid-write) is detected at open,
// logged and truncated away; nothing after it had been acknowledged.
//
// JSON.stringify escapes lone surrogates (bytes that were not UTF-8, see
// src/native/bytes.ts) as \udcNN, so lines are valid UTF-8 and lossless.
import { mkdirSync, readdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

import type { Logger } from 'pino';

import type { WireEvent } from '../../relay/protocol.js';
import { readLines } from './lines.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { SeqSet } from './seqset.js';

export type Daemon = 'slurmctld' | 'slurmd';

/** One stored record: a wire event and where it came from. */
export interface StoredRecord {
  spoolId: string;
  /** u64 as decimal, as the relay sent it. */
  seq: string;
  host: string;
  daemon: Daemon;
  /** Unix milliseconds when the reporter accepted it. */
  receivedAt: number;
  event: WireEvent;
}

/** A position in the store: just after one record. Resume reading with `events({ after })`. */
export interface StoreCursor {
  segment: number;
  offset: number;
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
  records: number;
  spools: number;
  segments: number;
  bytes: number;
  /** fdatasync calls since open (one per group commit or rotation). */
  syncs: number;
  /** Lines skipped at open because they are not valid records (not counting a repaired torn tail). */
  corruptLines: number;
  /** Bytes cut off a torn tail at open. */
  repairedBytes: number;
}

export interface EventStoreOptions {
  /** Start a new segment once the current one reaches this size (default 64 MiB). */
  segmentBytes?: number;
  logger?: Logger;
}

/** Raised to the caller of append() when the write or fdatasync failed: nothing of the batch is stored. */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError';
}

const SEGMENT_RE = /^seg-(\d{8})\.jsonl$/;
const segmentName = (n: number): string => `seg-${String(n).padStart(8, '0')}.jsonl`;
// Lines are written with this key order, so the dedupe key can be read from the prefix.
const PREFIX_RE = /^\{"spoolId":"([0-9a-f]{32})","seq":"(\d{1,20})","host":"/;
const DEFAULT_SEGMENT_BYTES = 64 << 20;

interface Pending {
  batch: AppendBatch;
  resolve: (r: AppendResult) => void;
  reject: (e: Error) => void;
}

function parseRecord(line: Buffer): StoredRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Partial<StoredRecord>;
  if (
    typeof r.spoolId !== 'string' ||
    !/^[0-9a-f]{32}$/.test(r.spoolId) ||
    typeof r.seq !== 'string' ||
    !/^\d{1,20}$/.test(r.seq) ||
    typeof r.host !== 'string' ||
    (r.daemon !== 'slurmctld' && r.daemon !== 'slurmd') ||
    typeof r.receivedAt !== 'number' ||
    typeof r.event !== 'object' ||
    r.event === null
  )
    return undefined;
  return r as StoredRecord;
}

/** The dedupe key of a line: the cheap prefix match for sealed segments, a full parse otherwise. */
function lineKey(line: Buffer, full: boolean): { spoolId: string; seq: bigint } | undefined {
  if (!full && line.length > 0 && line[line.length - 1] === 0x7d /* } */) {
    const m = PREFIX_RE.exec(line.subarray(0, 128).toString('latin1'));
    if (m) return { spoolId: m[1]!, seq: BigInt(m[2]!) };
  }
  const r = parseRecord(line);
  return r ? { spoolId: r.spoolId, seq: BigInt(r.seq) } : undefined;
}

export class EventStore {
  readonly dir: string;
  private readonly log: Logger | undefined;
  private readonly segmentBytes: number;
  private readonly lock: DirLock;
  private readonly index = new Map<string, SeqSet>();
  private fh: FileHandle | undefined;
  private segment = 0;
  /** Bytes written and fdatasync'd in the current segment; readers stop here. */
  private committed = 0;
  private sealedBytes = 0;
  private records = 0;
  private syncs = 0;
  private corruptLines = 0;
  private repairedBytes = 0;
  private readonly queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private broken: Error | undefined;
  private closed = false;

  private constructor(dir: string, lock: DirLock, opts: EventStoreOptions) {
    this.dir = dir;
    this.lock = lock;
    this.log = opts.logger;
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  }

  /** Opens (creating if needed) the store in `dir`, takes its lock, rebuilds the index and repairs a torn tail. */
  static async open(dir: string, opts: EventStoreOptions = {}): Promise<EventStore> {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new Error(`event store: cannot create ${dir}: ${(err as Error).message}; create it or pick a writable --store`);
    }
    const lock = acquireDirLock(join(dir, 'LOCK'), `event store ${dir}`);
    const store = new EventStore(dir, lock, opts);
    try {
      await store.load();
    } catch (err) {
      await store.fh?.close().catch(() => undefined);
      lock.release();
      throw err;
    }
    return store;
  }

  private listSegments(): number[] {
    return readdirSync(this.dir)
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
  }

  private async load(): Promise<void> {
    const t0 = Date.now();
    const segs = this.listSegments();
    for (const [i, n] of segs.entries()) {
      const last = i === segs.length - 1;
      const path = join(this.dir, segmentName(n));
      const fh = await open(path, last ? 'r+' : 'r');
      try {
        const size = (await fh.stat()).size;
        let validEnd = 0;
        const corrupt: Array<{ offset: number; bytes: number }> = [];
        for await (const l of readLines(fh, 0, size)) {
          const key = l.terminated ? lineKey(l.line, last) : undefined;
          if (!key) {
            corrupt.push({ offset: l.offset, bytes: l.line.length + (l.terminated ? 1 : 0) });
            continue;
          }
          this.indexAdd(key.spoolId, key.seq);
          validEnd = l.offset + l.line.length + 1;
        }
        if (last && validEnd < size) {
          // Everything after the last valid line is a torn tail: it was never acknowledged.
          this.log?.warn(
            { segment: path, offset: validEnd, bytes: size - validEnd },
            'event store: torn write at the end of the last segment (crash while writing); truncating it',
          );
          await fh.truncate(validEnd);
          await fh.datasync();
          this.repairedBytes += size - validEnd;
        }
        for (const c of corrupt.filter((c) => !last || c.offset < validEnd)) {
          this.corruptLines++;
          this.log?.error(
            { segment: path, offset: c.offset, bytes: c.bytes },
            'event store: a line in the middle of a segment is not a valid record (disk corruption or an outside edit); skipping it',
          );
        }
        if (last) {
          this.fh = fh;
          this.segment = n;
          this.committed = validEnd;
        } else {
          this.sealedBytes += size;
        }
      } finally {
        if (!last) await fh.close();
      }
    }
    if (!this.fh) await this.openSegment(1);
    this.log?.info(
      { dir: this.dir, records: this.records, spools: this.index.size, segments: segs.length || 1, ms: Date.now() - t0 },
      'event store opened',
    );
  }

  private async openSegment(n: number): Promise<void> {
    const fh = await open(join(this.dir, segmentName(n)), 'wx+', 0o600);
    // The new directory entry must be durable too.
    const d = await open(this.dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    this.fh = fh;
    this.segment = n;
    this.committed = 0;
  }

  private indexAdd(spoolId: string, seq: bigint): boolean {
    let s = this.index.get(spoolId);
    if (!s) {
      s = new SeqSet();
      this.index.set(spoolId, s);
    }
    const added = s.add(seq);
    if (added) this.records++;
    return added;
  }

  /** True when (spoolId, seq) is durably stored. */
  has(spoolId: string, seq: string | bigint): boolean {
    return this.index.get(spoolId)?.has(typeof seq === 'bigint' ? seq : BigInt(seq)) ?? false;
  }

  counts(): StoreCounts {
    return {
      records: this.records,
      spools: this.index.size,
      segments: this.segment,
      bytes: this.sealedBytes + this.committed,
      syncs: this.syncs,
      corruptLines: this.corruptLines,
      repairedBytes: this.repairedBytes,
    };
  }

  /** Per spool: how many records are stored and how many gaps their seqs have. */
  spools(): Array<{ spoolId: string; records: number; ranges: Array<[string, string]> }> {
    return [...this.index].map(([spoolId, s]) => ({
      spoolId,
      records: s.size,
      ranges: s.toRanges().map(([a, b]) => [a.toString(), b.toString()] as [string, string]),
    }));
  }

  /** Set when a failed write could not be undone: every append then fails until restart. */
  get failure(): Error | undefined {
    return this.broken;
  }

  /**
   * Stores the batch's records that are not stored yet, durably (fdatasync)
   * before resolving. Rejects with StoreWriteError when nothing could be stored.
   */
  append(batch: AppendBatch): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new StoreWriteError('event store is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ batch, resolve, reject });
      this.writing ??= this.drain().finally(() => {
        this.writing = undefined;
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue.splice(0);
      await this.commit(group);
    }
  }

  private async commit(group: Pending[]): Promise<void> {
    if (this.broken) {
      for (const p of group) p.reject(new StoreWriteError(this.broken.message));
      return;
    }
    const lines: string[] = [];
    const fresh: Array<[string, bigint]> = [];
    const pending = new Set<string>();
    const results: AppendResult[] = [];
    for (const { batch } of group) {
      const r: AppendResult = { stored: 0, duplicates: 0 };
      const receivedAt = batch.receivedAt ?? Date.now();
      for (const event of batch.events) {
        const seq = BigInt(event.seq);
        const k = `${batch.spoolId}:${seq}`;
        if (this.has(batch.spoolId, seq) || pending.has(k)) {
          r.duplicates++;
          continue;
        }
        pending.add(k);
        fresh.push([batch.spoolId, seq]);
        const rec: StoredRecord = { spoolId: batch.spoolId, seq: event.seq, host: batch.host, daemon: batch.daemon, receivedAt, event };
        lines.push(JSON.stringify(rec));
        r.stored++;
      }
      results.push(r);
    }
    if (lines.length > 0) {
      const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      try {
        if (this.committed > 0 && this.committed + data.length > this.segmentBytes) await this.rotate();
        await this.writeAll(data);
      } catch (err) {
        await this.undo(err as Error);
        const e = new StoreWriteError(`event store: writing ${this.dir} failed: ${(err as Error).message}`);
        for (const p of group) p.reject(e);
        return;
      }
      for (const [s, q] of fresh) this.indexAdd(s, q);
    }
    group.forEach((p, i) => p.resolve(results[i]!));
  }

  private async writeAll(data: Buffer): Promise<void> {
    const fh = this.fh!;
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await fh.write(data, done, data.length - done, this.committed + done);
      done += bytesWritten;
    }
    await fh.datasync();
    this.syncs++;
    this.committed += data.length;
  }

  /** After a failed write: cut the segment back to its last acknowledged byte, or give up until restart. */
  private async undo(cause: Error): Promise<void> {
    try {
      await this.fh!.truncate(this.committed);
      await this.fh!.datasync();
      this.log?.error({ err: cause, dir: this.dir }, 'event store: write failed; batch not stored (free space or fix the disk; the relay retries)');
    } catch (err) {
      this.broken = new Error(
        `event store ${this.dir} is unusable after a failed write (${cause.message}) and a failed repair (${(err as Error).message}); fix the disk and restart the reporter (a torn tail is repaired at start)`,
      );
      this.log?.fatal({ err: this.broken }, 'event store: broken');
    }
  }

  private async rotate(): Promise<void> {
    const old = this.fh!;
    await old.datasync();
    this.syncs++;
    this.sealedBytes += this.committed;
    await old.close();
    this.fh = undefined;
    await this.openSegment(this.segment + 1);
  }

  /**
   * Stored records in the order they were stored, each with the cursor just
   * after it. Only durable records are returned; the iteration ends at the
   * records stored when it reaches the end (it does not wait for more).
   */
  async *events(opts: { after?: StoreCursor } = {}): AsyncGenerator<{ record: StoredRecord; cursor: StoreCursor }> {
    let seg = opts.after?.segment ?? this.listSegments()[0] ?? this.segment;
    let offset = opts.after?.offset ?? 0;
    for (;;) {
      const sealed = seg < this.segment;
      let fh: FileHandle;
      try {
        fh = await open(join(this.dir, segmentName(seg)), 'r');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && sealed) {
          seg++;
          offset = 0;
          continue;
        }
        throw err;
      }
      try {
        const end = sealed ? (await fh.stat()).size : this.committed;
        for await (const l of readLines(fh, offset, end)) {
          if (!l.terminated) break;
          offset = l.offset + l.line.length + 1;
          const record = parseRecord(l.line);
          if (!record) continue; // logged at open
          yield { record, cursor: { segment: seg, offset } };
        }
      } finally {
        await fh.close();
      }
      if (sealed) {
        seg++;
        offset = 0;
      } else if (seg === this.segment) {
        return;
      }
      // else: the segment was rotated while we read it; read its rest, now sealed.
    }
  }

  /** Waits for queued appends, then closes the segment and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.writing) await this.writing;
    await this.fh?.close();
    this.fh = undefined;
    this.lock.release();
  }
}
