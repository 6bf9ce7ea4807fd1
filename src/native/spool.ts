// spool.ts - typed access to a spool directory (reader/acker, writer).
import { loadAddon, type AddonEventInput, type AddonSpoolReader, type AddonSpoolWriter, type AddonStat } from './addon.js';
import { toJobEvent, type JobEvent, type SpoolPosition } from './event.js';

export interface SpoolRecord {
  event: JobEvent;
  pos: SpoolPosition;
  next: SpoolPosition;
}

/** A record whose frame verified but whose payload did not decode (a newer or broken writer). */
export interface UndecodableRecord {
  error: string;
  payload: Buffer;
  pos: SpoolPosition;
  next: SpoolPosition;
}

export type SpoolStat = AddonStat;

/**
 * Reads verified records from the persisted ack position on. Reading does not
 * consume: ack(next, seq) does, and deletes segments wholly before it.
 */
export class SpoolReader {
  readonly dir: string;
  readonly #r: AddonSpoolReader;

  constructor(dir: string) {
    this.dir = dir;
    this.#r = new (loadAddon().SpoolReader)(dir);
  }

  /** Up to max records after the cursor; [] when caught up. */
  read(max = 1000): { records: SpoolRecord[]; undecodable: UndecodableRecord[] } {
    const records: SpoolRecord[] = [];
    const undecodable: UndecodableRecord[] = [];
    for (const r of this.#r.read(max)) {
      if (r.event) records.push({ event: toJobEvent(r.event), pos: r.pos, next: r.next });
      else undecodable.push({ error: r.error ?? 'undecodable', payload: r.payload ?? Buffer.alloc(0), pos: r.pos, next: r.next });
    }
    return { records, undecodable };
  }

  /** Every record from the cursor to the current end. */
  *readAll(batch = 1000): Generator<SpoolRecord> {
    for (;;) {
      const { records, undecodable } = this.read(batch);
      yield* records;
      if (records.length + undecodable.length === 0) return;
    }
  }

  ack(next: SpoolPosition, lastSeq: bigint): void {
    this.#r.ack(next, lastSeq);
  }

  rewind(): void {
    this.#r.rewind();
  }

  sync(): void {
    this.#r.sync();
  }

  stat(): SpoolStat {
    return this.#r.stat();
  }

  close(): void {
    this.#r.close();
  }
}

export type EventInput = AddonEventInput;

/** Appends records the way the plugins do (tests, benchmarks, tools). */
export class SpoolWriter {
  readonly #w: AddonSpoolWriter;

  constructor(dir: string, opts: { maxBytes?: number; segmentBytes?: number } = {}) {
    this.#w = new (loadAddon().SpoolWriter)(dir, opts);
  }

  /** Returns the record's seq; throws when it was not stored (spool full, I/O error). */
  append(ev: EventInput): bigint {
    return this.#w.append(ev);
  }

  sync(): void {
    this.#w.sync();
  }

  close(): void {
    this.#w.close();
  }
}
