// spool-follower.ts - the relay's side of the spool: it takes the spool's
// relay lock (one relay per spool), opens the reader once the spool exists,
// watches the directory (a change wakes the relay), reads records into the
// queue in spool order, and acks: an ack syncs the spool first (on the
// thread pool, so the loop reads and sends on meanwhile), then persists the
// position, one after another in answer order. What is sent, and when, is
// the delivery's (relay.ts).
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

import type { Logger } from 'pino';

import type { SpoolPosition } from '../native/event.js';
import { SpoolReader, type UndecodableRecord, type WireRecords } from '../native/spool.js';
import { acquireDirLock, type DirLock } from '../util/dir-lock.js';
import type { RelayConfig } from './config.js';
import type { BatchHeader } from './wire.js';

/** In the spool directory: PID and start time of the relay draining it. */
export const RELAY_LOCK_FILE = 'relay.lock';

/** A record read: the i-th of a readWire() answer (its wire JSON is `bytes` long), or one that did not decode. */
export type Item =
  | { kind: 'record'; src: WireRecords; i: number; bytes: number }
  | { kind: 'undecodable'; rec: UndecodableRecord };

export type RecordItem = Extract<Item, { kind: 'record' }>;

export interface SpoolFollowerOptions {
  config: Pick<RelayConfig, 'spoolDir' | 'host' | 'daemon' | 'pollIntervalMs'>;
  log: Logger;
  /** A change in the spool directory, or an ack that failed: the relay should look again. */
  wake: () => void;
  /** The spool's unacked bytes, after each look. */
  onBacklog: (bytes: number) => void;
  /** An ack persisted: `delivered` (the records it covers that the reporter took) are relayed. */
  onAcked: (next: SpoolPosition, delivered: RecordItem[]) => void;
}

export class SpoolFollower {
  /** Records read and not yet taken into a batch, in spool order. */
  queue: Item[] = [];
  #reader: SpoolReader | undefined;
  /** One relay per spool: two would send everything twice and race each other's acks. */
  #lock: DirLock | undefined;
  #watcher: FSWatcher | undefined;
  #header: BatchHeader | undefined;
  #lastSeq: bigint | undefined;
  /** The acks queued (queueAck), in order; the first that failed, until the relay restarts from the ack position. */
  #acking: Promise<void> = Promise.resolve();
  #ackError: Error | undefined;
  #openFailures = 0;
  #watchFailed = false;

  constructor(private readonly opts: SpoolFollowerOptions) {}

  /** The batch header of the spool opened (its id, host, daemon). */
  get header(): BatchHeader {
    return this.#header!;
  }

  /** An ack failed and was not thrown by acked() yet. */
  get ackFailed(): boolean {
    return this.#ackError !== undefined;
  }

  /** The reader, opened (lock taken, watch started) once the spool exists; undefined until then. */
  open(): SpoolReader | undefined {
    const { config, log } = this.opts;
    if (this.#reader) return this.#reader;
    if (!this.#watcher) this.#startWatch(); // the spool's creation wakes the relay too
    try {
      this.#lock ??= acquireDirLock(
        join(config.spoolDir, RELAY_LOCK_FILE),
        `spool ${config.spoolDir}`,
        'one relay drains a spool: stop the other relay (the one embedded in slurmd or slurmctld, or a gridlink relay) or give this one another spool',
      );
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined; // no spool yet
      this.#openFailures++;
      if (this.#openFailures === 1 || this.#openFailures % 60 === 0)
        log.error(
          { error: (err as Error).message, lockFile: join(config.spoolDir, RELAY_LOCK_FILE) },
          'another relay drains this spool: run one relay per spool (embedded in the daemon or `gridlink relay`, not both); this one waits and takes over when the other stops',
        );
      return undefined;
    }
    try {
      const reader = new SpoolReader(config.spoolDir);
      const st = reader.stat();
      this.#reader = reader;
      this.#header = { version: 1, spoolId: st.spoolId, host: config.host, daemon: config.daemon, sentAt: 0 };
      this.#lastSeq = st.ackedSeq > 0 ? BigInt(st.ackedSeq - 1) : undefined;
      this.#openFailures = 0;
      this.updateBacklog(reader);
      log.info({ spoolId: st.spoolId, ack: st.ack, backlogBytes: st.writtenBytes - st.ackedBytes }, 'spool opened');
      return reader;
    } catch (err) {
      this.#openFailures++;
      if (this.#openFailures === 1 || this.#openFailures % 60 === 0)
        log.warn(
          { error: (err as Error).message, attempts: this.#openFailures },
          'cannot open the spool yet (it appears with the first event the plugin records; check the spool path and permissions)',
        );
      return undefined;
    }
  }

  #startWatch(): void {
    const { config, log } = this.opts;
    if (this.#watchFailed) return;
    try {
      this.#watcher = watch(config.spoolDir, { persistent: false }, () => this.opts.wake());
      this.#watcher.on('error', (err) => {
        log.warn({ error: err.message }, `watching the spool failed: polling every ${config.pollIntervalMs} ms`);
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') return; // not created yet: retried with the next open
      this.#watchFailed = true;
      log.warn({ error: (err as Error).message }, `cannot watch the spool (inotify limits?): polling every ${config.pollIntervalMs} ms`);
    }
  }

  /** Reads until the queue holds `maxRecords`, in spool order. */
  fill(reader: SpoolReader, maxRecords: number): void {
    const want = maxRecords - this.queue.length;
    if (want <= 0) return;
    const src = reader.readWire(want);
    for (let i = 0; i < src.count; i++) {
      const u = src.undecodable(i);
      this.queue.push(u ? { kind: 'undecodable', rec: u } : { kind: 'record', src, i, bytes: src.end(i) - src.start(i) });
    }
  }

  /**
   * Queues the ack up to and including `last`: after the acks queued
   * before it, the spool is synced and the ack persisted (both off the
   * event loop), then onAcked(`delivered`). A failure stops the acks after it
   * and is thrown by acked().
   */
  queueAck(reader: SpoolReader, last: Item, delivered: RecordItem[]): void {
    const lastSeq = last.kind === 'record' ? last.src.seq(last.i) : (payloadSeq(last.rec.payload) ?? this.#lastSeq ?? 0n);
    const next = last.kind === 'record' ? last.src.next(last.i) : last.rec.next;
    this.#lastSeq = lastSeq;
    this.#acking = this.#acking.then(async () => {
      if (this.#ackError) return;
      try {
        await reader.syncAndAck(next, lastSeq);
      } catch (err) {
        this.#ackError = err as Error;
        this.opts.wake();
        return;
      }
      this.opts.onAcked(next, delivered);
      this.updateBacklog(reader);
    });
  }

  /** Waits for the acks queued; throws the first that failed (once). */
  async acked(): Promise<void> {
    await this.#acking;
    const err = this.#ackError;
    this.#ackError = undefined;
    if (err) throw err;
  }

  /** Waits for the acks queued; the first that failed, if any (logged by the caller), is forgotten. */
  async settled(): Promise<Error | undefined> {
    await this.#acking;
    const err = this.#ackError;
    this.#ackError = undefined;
    return err;
  }

  /** After the acks queued: the cursor back to the ack position, the queue emptied. */
  async resetToAck(): Promise<void> {
    const err = await this.settled();
    if (err) this.opts.log.warn({ error: err.message }, 'acking delivered records failed: they are sent again from the ack position (the reporter finds them duplicates)');
    this.queue = [];
    try {
      this.#reader?.rewind();
    } catch {
      this.#reader?.close();
      this.#reader = undefined;
    }
  }

  updateBacklog(reader: SpoolReader): void {
    const st = reader.stat();
    this.opts.onBacklog(st.writtenBytes - st.ackedBytes);
  }

  /** Stops watching, closes the reader, releases the spool's relay lock. */
  close(): void {
    this.#watcher?.close();
    this.#reader?.close();
    this.#reader = undefined;
    this.#lock?.release();
  }
}

/** The seq inside a version-1 payload (bytes 8..16), when the payload is long enough to hold it. */
export function payloadSeq(p: Buffer): bigint | undefined {
  return p.length >= 16 ? p.readBigUInt64LE(8) : undefined;
}
