// spool.ts - typed access to a spool directory (reader/acker, writer).
import { loadAddon, type AddonEventInput, type AddonSpoolReader, type AddonSpoolWriter, type AddonStat, type AddonWireRecords } from './addon.js';
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

/** Numbers per record in AddonWireRecords.meta: pos (3), next (3), JSON start and end. */
const META = 8;

/**
 * Records read for the relay (SpoolReader.readWire): each decodable one's
 * wire record (src/relay/protocol.ts) as JSON text, all of them in one
 * buffer separated by commas, and the positions and seqs in typed arrays:
 * no JavaScript object per record. Record i is the i-th one read, decodable
 * or not.
 */
export class WireRecords {
  readonly count: number;
  /** The decodable records' JSON, in spool order, separated by ','. */
  readonly json: Buffer;
  readonly #meta: Float64Array;
  readonly #seqs: BigUint64Array;
  readonly #undecodable: Map<number, UndecodableRecord>;

  constructor(raw: AddonWireRecords) {
    this.count = raw.count;
    this.json = raw.json;
    this.#meta = raw.meta;
    this.#seqs = raw.seqs;
    this.#undecodable = new Map(raw.undecodable.map((u) => [u.index, { error: u.error, payload: u.payload, pos: this.pos(u.index), next: this.next(u.index) }]));
  }

  pos(i: number): SpoolPosition {
    const m = this.#meta;
    return { segment: m[i * META]!, offset: m[i * META + 1]!, total: m[i * META + 2]! };
  }

  /** Where the record after it starts: ack this to consume record i. */
  next(i: number): SpoolPosition {
    const m = this.#meta;
    return { segment: m[i * META + 3]!, offset: m[i * META + 4]!, total: m[i * META + 5]! };
  }

  /** The record's JSON is json[start(i), end(i)); both -1 when it is undecodable. */
  start(i: number): number {
    return this.#meta[i * META + 6]!;
  }

  end(i: number): number {
    return this.#meta[i * META + 7]!;
  }

  /** The record's seq (0n when undecodable). */
  seq(i: number): bigint {
    return this.#seqs[i]!;
  }

  /** Record i's wire JSON (a view into json). */
  recordJson(i: number): Buffer {
    return this.json.subarray(this.start(i), this.end(i));
  }

  /** Set when record i's frame verified but its payload did not decode. */
  undecodable(i: number): UndecodableRecord | undefined {
    return this.#undecodable.get(i);
  }
}

/**
 * Reads verified records from the persisted ack position on. Reading does not
 * consume: ack(next, seq) does, and deletes segments wholly before it.
 */
export class SpoolReader {
  readonly dir: string;
  readonly #addon: AddonSpoolReader;

  constructor(dir: string) {
    this.dir = dir;
    this.#addon = new (loadAddon().SpoolReader)(dir);
  }

  /** Up to max records after the cursor; [] when caught up. */
  read(max = 1000): { records: SpoolRecord[]; undecodable: UndecodableRecord[] } {
    const records: SpoolRecord[] = [];
    const undecodable: UndecodableRecord[] = [];
    for (const r of this.#addon.read(max)) {
      if (r.event) records.push({ event: toJobEvent(r.event), pos: r.pos, next: r.next });
      else undecodable.push({ error: r.error ?? 'undecodable', payload: r.payload ?? Buffer.alloc(0), pos: r.pos, next: r.next });
    }
    return { records, undecodable };
  }

  /** Up to max records after the cursor as the relay sends them (see WireRecords); count 0 when caught up. */
  readWire(max = 1000): WireRecords {
    return new WireRecords(this.#addon.readWire(max));
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
    this.#addon.ack(next, lastSeq);
  }

  rewind(): void {
    this.#addon.rewind();
  }

  /** fdatasync the segments read since the last sync (records of short-lived writers become durable). */
  sync(): void {
    this.#addon.sync();
  }

  /**
   * sync() then ack(next, lastSeq), both on the thread pool (fdatasync, the
   * meta page's msync, deleting acked segments): the reader may read on
   * meanwhile. One at a time; close() waits for the one on its way.
   */
  syncAndAck(next: SpoolPosition, lastSeq: bigint): Promise<void> {
    return this.#addon.syncAndAck(next, lastSeq);
  }

  stat(): SpoolStat {
    return this.#addon.stat();
  }

  close(): void {
    this.#addon.close();
  }
}

export type EventInput = AddonEventInput;

/** Appends records the way the plugins do (tests, benchmarks, tools). */
export class SpoolWriter {
  readonly #addon: AddonSpoolWriter;

  constructor(dir: string, opts: { maxBytes?: number; segmentBytes?: number } = {}) {
    this.#addon = new (loadAddon().SpoolWriter)(dir, opts);
  }

  /** Returns the record's seq; throws when it was not stored (spool full, I/O error). */
  append(ev: EventInput): bigint {
    return this.#addon.append(ev);
  }

  sync(): void {
    this.#addon.sync();
  }

  close(): void {
    this.#addon.close();
  }
}
