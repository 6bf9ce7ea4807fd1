// relay.ts - drain one spool into the reporter: read from the ack position,
// batch, authenticate, POST, and ack only what the reporter durably took.
//
// Up to batchesInFlight batches are on their way at once (HTTP/1.1
// pipelining on the one connection), so reading and encoding the next batch
// overlaps the reporter's parsing and commit of this one. They are sent in
// spool order and their answers are taken in that order: the ack only ever
// moves over a prefix of batches the reporter stored. Each batch carries its
// round (new whenever the relay sends from its ack position with nothing on
// its way) and its index in the round; the reporter stores batch n only once
// batch n-1 of the round was stored (src/reporter/ingest/pipeline-order.ts),
// so what it stored of a spool is always a prefix, in order, even when a
// batch after a failed one reaches it on a new connection. On any failure the
// relay drops the connection with everything still on it, waits for every
// answer, and starts a new round from the ack position; records stored
// meanwhile come back as duplicates (UNIQUE (spool_id, seq)).
//
// An ack syncs the spool first (records of short-lived writers reach the
// disk before the ack lets them go). The sync runs on the thread pool and
// the acks run one after another in answer order, while the loop reads and
// sends on: an event that arrives meanwhile does not wait for the disk.
import { randomBytes } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { SpoolPosition } from '../native/event.js';
import { SpoolReader, type UndecodableRecord, type WireRecords } from '../native/spool.js';
import { acquireDirLock, type DirLock } from '../reporter/ingest/lock.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { backoffDelay } from './backoff.js';
import type { RelayConfig } from './config.js';
import { HookRunner, toHookEvent, type HookStats } from './hooks.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { MAX_BATCH_BYTES, type WireEvent } from './protocol.js';
import { QuarantineFile, type QuarantineEntry } from './quarantine.js';
import { createTransport } from './choose-transport.js';
import type { Answer, Transport } from './transport.js';
import { batchOverheadBytes, buildBatchBody, type BatchHeader } from './wire.js';

export interface RelayStats {
  /** Records the reporter accepted (stored or duplicate). */
  relayed: number;
  quarantined: number;
  /** Failed attempts that were retried. */
  retries: number;
  batches: number;
  /** Failures since the last accepted batch (0 when healthy). */
  consecutiveFailures: number;
  lastError?: string;
  /** Date.now() of the last accepted batch. */
  lastSuccessAt?: number;
  /** Spool bytes written but not acked, as of the last look. */
  backlogBytes: number;
  ack?: SpoolPosition;
  /** Current limits (413 halves them). */
  batchMaxRecords: number;
  batchMaxBytes: number;
  hooks?: HookStats;
}

export interface Relay {
  /** Takes the answers of the batches on their way if they come within graceMs (default 2000), else abandons them unacked. */
  stop(opts?: { graceMs?: number }): Promise<void>;
  stats(): RelayStats;
  /** Resolves the next time the relay finds the spool caught up (everything acked or quarantined). */
  drained(): Promise<void>;
  readonly metrics: RelayMetrics;
}

export interface StartRelayOptions {
  logger?: Logger;
  /** Metrics go here; a fresh Registry otherwise (never the global default). */
  registry?: Registry;
  /** Overrides for tests. */
  transport?: Transport;
  authenticate?: Authenticator;
  random?: () => number;
}

/** A record read: the i-th of a readWire() answer (its wire JSON is `bytes` long), or one that did not decode. */
type Item =
  | { kind: 'record'; src: WireRecords; i: number; bytes: number }
  | { kind: 'undecodable'; rec: UndecodableRecord };

type RecordItem = Extract<Item, { kind: 'record' }>;

/** A batch taken from the queue: sent (answer pending) unless it had nothing for the wire. */
interface Flight {
  range: Item[];
  wire: RecordItem[];
  local: Omit<QuarantineEntry, 'at'>[];
  bodyBytes: number;
  answer: Promise<Answer> | undefined;
  settled: boolean;
}

/** Room for `"pipeline":{"round":"<16 hex>","index":<n>}` and `"spool":{"appended":"<u64>","backlogBytes":<n>}` in a batch body. */
const PIPELINE_FIELD_BYTES = 64 + 72;

/** In the spool directory: PID and start time of the relay draining it. */
export const RELAY_LOCK_FILE = 'relay.lock';

export function startRelay(config: RelayConfig, opts: StartRelayOptions = {}): Relay {
  const r = new RelayLoop(config, opts);
  r.start();
  return r;
}

class RelayLoop implements Relay {
  readonly metrics: RelayMetrics;
  readonly #c: RelayConfig;
  readonly #log: Logger;
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #random: () => number;
  readonly #quarantine: QuarantineFile;
  readonly #hooks: HookRunner | undefined;
  readonly #stopAc = new AbortController();
  #reader: SpoolReader | undefined;
  /** One relay per spool: two would send everything twice and race each other's acks. */
  #lock: DirLock | undefined;
  #watcher: FSWatcher | undefined;
  #header: BatchHeader | undefined;
  #queue: Item[] = [];
  /** Batches sent and not yet acked, in spool order. */
  #flights: Flight[] = [];
  /** Resolves once the last flight's POST was handed to the transport (sends stay in spool order). */
  #lastSent: Promise<void> = Promise.resolve();
  /** The current round (see the top) and the index of its next batch. */
  #round = { round: '', index: 0 };
  #lastSeq: bigint | undefined;
  #maxRecords: number;
  #maxBytes: number;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #loop: Promise<void> = Promise.resolve();
  #woken = false;
  #wake: (() => void) | undefined;
  #drainWaiters: Array<() => void> = [];
  /** The acks queued (#queueAck), in order; the first that failed, until the loop restarts from the ack position. */
  #acking: Promise<void> = Promise.resolve();
  #ackError: Error | undefined;
  #openFailures = 0;
  #watchFailed = false;
  readonly #s: Omit<RelayStats, 'batchMaxRecords' | 'batchMaxBytes' | 'hooks'> = {
    relayed: 0,
    quarantined: 0,
    retries: 0,
    batches: 0,
    consecutiveFailures: 0,
    backlogBytes: 0,
  };

  constructor(config: RelayConfig, opts: StartRelayOptions) {
    this.#c = config;
    this.#log = (opts.logger ?? pino({ name: 'gridlink-relay' })).child({ spool: config.spoolDir, daemon: config.daemon });
    this.metrics = createRelayMetrics(opts.registry);
    this.#transport = opts.transport ?? createTransport(config.reporterUrl, {
        requestTimeoutMs: config.requestTimeoutMs,
        httpClient: config.httpClient,
        pipelining: config.batchesInFlight,
      });
    this.#auth = opts.authenticate ?? createAuthenticator(config.auth);
    this.#random = opts.random ?? Math.random;
    this.#quarantine = new QuarantineFile(config.quarantineFile);
    this.#maxRecords = config.batchMaxRecords;
    this.#maxBytes = config.batchMaxBytes;
    this.#hooks = config.hooks
      ? new HookRunner({ ...config.hooks, logger: this.#log.child({ component: 'hooks' }), metrics: this.metrics })
      : undefined;
  }

  start(): void {
    this.#log.info({ reporter: this.#c.reporterUrl, auth: this.#c.auth.kind, hooks: this.#c.hooks?.module }, 'relay starting');
    this.#loop = this.#run();
  }

  stats(): RelayStats {
    return { ...this.#s, batchMaxRecords: this.#maxRecords, batchMaxBytes: this.#maxBytes, hooks: this.#hooks?.stats() };
  }

  drained(): Promise<void> {
    const p = new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
    this.#poke();
    return p;
  }

  stop(opts: { graceMs?: number } = {}): Promise<void> {
    this.#stopped ??= this.#shutdown(opts.graceMs ?? 2000);
    return this.#stopped;
  }

  async #shutdown(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#log.info('relay stopping');
    const abortTimer = setTimeout(() => this.#stopAc.abort(), graceMs);
    this.#poke();
    await this.#loop;
    clearTimeout(abortTimer);
    this.#stopAc.abort();
    this.#watcher?.close();
    await this.#transport.close();
    await this.#hooks?.stop();
    this.#reader?.close();
    this.#reader = undefined;
    this.#lock?.release();
    this.#log.info(this.stats(), 'relay stopped');
  }

  // ---- the loop ----

  async #run(): Promise<void> {
    // After stop(): no new batch, but the answers of those on their way are taken (until the grace ends).
    while (!this.#stopping || this.#flights.length > 0) {
      try {
        if (!(await this.#step())) {
          if (this.#drainWaiters.length > 0) {
            await this.#acked();
            for (const w of this.#drainWaiters.splice(0)) w();
          }
          await this.#idle(this.#c.pollIntervalMs);
        }
      } catch (err) {
        // The spool or the quarantine file failed: nothing more was acked; start over from the ack position.
        this.#fail((err as Error).message, 'the relay retries from the last ack position; see the error for what to fix');
        await this.#abandon();
        await this.#resetToAck();
        await this.#sleep(backoffDelay(this.#c.backoff, this.#s.consecutiveFailures - 1, this.#random));
      }
    }
    await this.#acking;
    if (this.#ackError) this.#log.warn({ error: this.#ackError.message }, 'relay stopped with records delivered but not acked: the next start sends them again (the reporter finds them duplicates)');
  }

  /**
   * Sends batches until batchesInFlight are on their way, then takes the
   * oldest one's answer (and those of the next ones already answered) and acks
   * them with one spool sync: true when the relay made progress or should try
   * again at once, false when caught up.
   */
  async #step(): Promise<boolean> {
    const reader = this.#openReader();
    if (!reader) return false; // no spool yet: nothing to deliver
    if (this.#ackError) await this.#acked(); // throws: the loop starts over from the ack position
    if (!this.#stopping) this.#launch(reader);
    if (this.#flights.length === 0) {
      this.#updateBacklog(reader);
      return false;
    }
    let last: Item | undefined;
    const delivered: RecordItem[] = [];
    for (;;) {
      const f = this.#flights[0]!;
      const answer = f.answer ? await f.answer : undefined;
      const entries: Omit<QuarantineEntry, 'at'>[] = f.local;
      if (answer?.kind === 'retry' || (answer?.kind === 'too-large' && f.wire.length > 1)) {
        // Those before it were stored: ack them first, then drop this one and all after it.
        if (last) this.#queueAck(reader, last, delivered);
        await this.#abandon();
        await this.#resetToAck();
        if (answer.kind === 'too-large') {
          this.#maxRecords = Math.max(1, Math.floor(f.wire.length / 2));
          this.#maxBytes = Math.max(1024, Math.floor(f.bodyBytes / 2));
          this.#log.warn(
            { records: f.wire.length, bytes: f.bodyBytes, batchMaxRecords: this.#maxRecords, batchMaxBytes: this.#maxBytes },
            'reporter answered 413: batch size halved (lower batchMaxBytes to match the reporter\'s body limit)',
          );
          return true;
        }
        if (this.#stopping) return true; // abandoned: not acked, the next start resends it
        this.#s.retries++;
        this.metrics.retries.inc();
        this.#fail(`${answer.status !== undefined ? `HTTP ${answer.status}: ` : ''}${answer.detail}`, answer.hint, { records: f.wire.length });
        await this.#sleep(backoffDelay(this.#c.backoff, this.#s.consecutiveFailures - 1, this.#random));
        return true;
      }
      if (answer?.kind === 'too-large') {
        entries.push(...f.wire.map((w) => this.#entry(w, `reporter refused the record as too large (413): ${answer.detail}`)));
      } else if (answer?.kind === 'invalid') {
        entries.push(...f.wire.map((w) => this.#entry(w, `reporter rejected the whole batch (400): ${answer.detail}`)));
      } else if (answer?.kind === 'stored') {
        const rejected = new Map<number, string>();
        for (const rj of answer.result.rejected) {
          if (rj.index < f.wire.length) rejected.set(rj.index, rj.reason);
          else this.#log.warn({ rejected: rj, records: f.wire.length }, 'reporter rejected a record index outside the batch: ignored');
        }
        const accounted = answer.result.stored + answer.result.duplicates + rejected.size;
        if (accounted !== f.wire.length)
          this.#log.warn({ ...answer.result, records: f.wire.length }, 'reporter\'s IngestResult does not add up to the batch size: acking as protocol.ts says');
        f.wire.forEach((w, i) => {
          const why = rejected.get(i);
          if (why === undefined) delivered.push(w);
          else entries.push(this.#entry(w, `reporter rejected the record: ${why}`));
        });
      }
      this.#quarantineAll(entries);
      if (f.wire.length > 0) {
        this.#s.batches++;
        this.#s.lastSuccessAt = Date.now();
        this.metrics.lastSuccess.set(this.#s.lastSuccessAt / 1000);
      }
      last = f.range[f.range.length - 1]!;
      this.#flights.shift();
      // The next answers already in: acked with this one (one spool sync for all).
      if (!this.#flights[0]?.settled) break;
    }
    this.#queueAck(reader, last!, delivered);
    if (this.#s.consecutiveFailures > 0) this.#log.info({ after: this.#s.consecutiveFailures }, 'reporter reachable again: delivering');
    this.#s.consecutiveFailures = 0;
    this.#s.lastError = undefined;
    return true;
  }

  /** Takes batches off the queue and sends them, in spool order, until batchesInFlight are on their way or the queue is empty. */
  #launch(reader: SpoolReader): void {
    while (this.#flights.length < this.#c.batchesInFlight) {
      this.#fill(reader);
      if (this.#queue.length === 0) return;
      const { range, wire, local } = this.#takeBatch();
      this.#queue.splice(0, range.length);
      const f: Flight = { range, wire, local, bodyBytes: 0, answer: undefined, settled: true };
      if (wire.length > 0) {
        // Nothing on its way: a new round (the reporter may have restarted, or the last one failed).
        if (!this.#flights.some((g) => g.answer)) this.#round = { round: randomBytes(8).toString('hex'), index: 0 };
        const pipeline = { round: this.#round.round, index: this.#round.index++ };
        const st = reader.stat();
        const spool = { appended: String(st.nextSeq), backlogBytes: Math.max(0, st.writtenBytes - st.ackedBytes) };
        const body = buildBatchBody({ ...this.#header!, sentAt: Date.now(), pipeline, spool }, jsonRuns(wire));
        f.bodyBytes = body.length;
        f.settled = false;
        f.answer = this.#post(body).then((a) => {
          f.settled = true;
          return a;
        });
      }
      this.#flights.push(f);
    }
  }

  /** Relayed: counted, and handed to the hooks. */
  #deliver(delivered: RecordItem[]): void {
    this.#s.relayed += delivered.length;
    this.metrics.relayed.inc(delivered.length);
    if (this.#hooks) for (const d of delivered) this.#hooks.submit(toHookEvent(wireEvent(d), this.#header!.spoolId, this.#c.host, this.#c.daemon));
  }

  /**
   * Drops every batch on its way: the transport's connection goes with them
   * (nothing of it is sent again), and every answer is waited for, so no
   * request of this round is still open when the relay starts over.
   */
  async #abandon(): Promise<void> {
    const flights = this.#flights.splice(0);
    if (flights.some((f) => !f.settled)) await this.#transport.reset?.();
    await Promise.all(flights.map((f) => f.answer));
  }

  #openReader(): SpoolReader | undefined {
    if (this.#reader) return this.#reader;
    if (!this.#watcher) this.#startWatch(); // the spool's creation wakes the relay too
    try {
      this.#lock ??= acquireDirLock(join(this.#c.spoolDir, RELAY_LOCK_FILE), `spool ${this.#c.spoolDir}`);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return undefined; // no spool yet
      this.#openFailures++;
      if (this.#openFailures === 1 || this.#openFailures % 60 === 0)
        this.#log.error(
          { error: (err as Error).message, lockFile: join(this.#c.spoolDir, RELAY_LOCK_FILE) },
          'another relay drains this spool: run one relay per spool (embedded in the daemon or `gridlink relay`, not both); this one waits and takes over when the other stops',
        );
      return undefined;
    }
    try {
      const reader = new SpoolReader(this.#c.spoolDir);
      const st = reader.stat();
      this.#reader = reader;
      this.#header = { version: 1, spoolId: st.spoolId, host: this.#c.host, daemon: this.#c.daemon, sentAt: 0 };
      this.#lastSeq = st.ackedSeq > 0 ? BigInt(st.ackedSeq - 1) : undefined;
      this.#openFailures = 0;
      this.#updateBacklog(reader);
      this.#log.info({ spoolId: st.spoolId, ack: st.ack, backlogBytes: st.writtenBytes - st.ackedBytes }, 'spool opened');
      return reader;
    } catch (err) {
      this.#openFailures++;
      if (this.#openFailures === 1 || this.#openFailures % 60 === 0)
        this.#log.warn(
          { error: (err as Error).message, attempts: this.#openFailures },
          'cannot open the spool yet (it appears with the first event the plugin records; check the spool path and permissions)',
        );
      return undefined;
    }
  }

  #startWatch(): void {
    if (this.#watchFailed) return;
    try {
      this.#watcher = watch(this.#c.spoolDir, { persistent: false }, () => this.#poke());
      this.#watcher.on('error', (err) => {
        this.#log.warn({ error: err.message }, `watching the spool failed: polling every ${this.#c.pollIntervalMs} ms`);
        this.#watcher?.close();
        this.#watcher = undefined;
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') return; // not created yet: retried with the next open
      this.#watchFailed = true;
      this.#log.warn({ error: (err as Error).message }, `cannot watch the spool (inotify limits?): polling every ${this.#c.pollIntervalMs} ms`);
    }
  }

  /** Reads until the queue holds a batch's worth, in spool order. */
  #fill(reader: SpoolReader): void {
    const want = this.#maxRecords - this.#queue.length;
    if (want <= 0) return;
    const src = reader.readWire(want);
    for (let i = 0; i < src.count; i++) {
      const u = src.undecodable(i);
      this.#queue.push(u ? { kind: 'undecodable', rec: u } : { kind: 'record', src, i, bytes: src.end(i) - src.start(i) });
    }
  }

  /** The longest queue prefix within the limits; records the protocol cannot carry go to local quarantine. */
  #takeBatch(): { range: Item[]; wire: RecordItem[]; local: Omit<QuarantineEntry, 'at'>[] } {
    const range: Item[] = [];
    const wire: RecordItem[] = [];
    const local: Omit<QuarantineEntry, 'at'>[] = [];
    let bytes = batchOverheadBytes(this.#header!, 0) + 16 + PIPELINE_FIELD_BYTES;
    // The most a record may be: alone in a batch, within the protocol's limit.
    const maxRecordBytes = MAX_BATCH_BYTES - (batchOverheadBytes(this.#header!, 1) + 16 + PIPELINE_FIELD_BYTES);
    for (const it of this.#queue) {
      if (it.kind === 'undecodable') {
        range.push(it);
        local.push(this.#undecodableEntry(it.rec));
        continue;
      }
      if (it.bytes > maxRecordBytes) {
        range.push(it);
        local.push(this.#entry(it, `record is ${it.bytes} bytes as JSON, over the protocol's ${MAX_BATCH_BYTES}-byte batch limit`));
        continue;
      }
      if (wire.length > 0 && (wire.length >= this.#maxRecords || bytes + it.bytes + 1 > this.#maxBytes)) break;
      range.push(it);
      wire.push(it);
      bytes += it.bytes + 1;
    }
    return { range, wire, local };
  }

  /** Authenticates (concurrently with the batches before it) and POSTs once those before it were handed to the transport. */
  async #post(body: Buffer): Promise<Answer> {
    const before = this.#lastSent;
    let sent!: () => void;
    this.#lastSent = new Promise((resolve) => (sent = resolve));
    let auth: string;
    try {
      auth = await this.#auth(body);
    } catch (err) {
      return { kind: 'retry', detail: (err as Error).message, hint: 'the batch could not be authenticated' };
    } finally {
      await before;
      sent();
    }
    // Handed to the transport synchronously after the one before it (the next one's `before` resolves later).
    return this.#transport.post(body, auth, this.#stopAc.signal);
  }

  /**
   * Queues the ack up to and including `last`: after the acks queued
   * before it, the spool is synced (off the event loop), then the ack
   * persisted, then `delivered` counted and handed to the hooks. A failure
   * stops the acks after it and is thrown by #acked() (the next step).
   */
  #queueAck(reader: SpoolReader, last: Item, delivered: RecordItem[]): void {
    const lastSeq = last.kind === 'record' ? last.src.seq(last.i) : (payloadSeq(last.rec.payload) ?? this.#lastSeq ?? 0n);
    const next = last.kind === 'record' ? last.src.next(last.i) : last.rec.next;
    this.#lastSeq = lastSeq;
    this.#acking = this.#acking.then(async () => {
      if (this.#ackError) return;
      try {
        await reader.syncAsync();
        reader.ack(next, lastSeq);
      } catch (err) {
        this.#ackError = err as Error;
        this.#poke();
        return;
      }
      this.#s.ack = next;
      this.#deliver(delivered);
      this.#updateBacklog(reader);
    });
  }

  /** Waits for the acks queued; throws the first that failed (once). */
  async #acked(): Promise<void> {
    await this.#acking;
    const err = this.#ackError;
    this.#ackError = undefined;
    if (err) throw err;
  }

  /** Appends to the quarantine file (fsync'd), before the ack that covers the records. */
  #quarantineAll(entries: Omit<QuarantineEntry, 'at'>[]): void {
    if (entries.length > 0) {
      this.#quarantine.append(entries);
      this.#s.quarantined += entries.length;
      for (const e of entries) this.metrics.quarantined.inc({ reason: reasonLabel(e.reason) });
      this.#log.warn(
        { quarantined: entries.length, file: this.#quarantine.path, reasons: [...new Set(entries.map((e) => e.reason))].slice(0, 5) },
        'records quarantined (not relayed): inspect the quarantine file',
      );
    }
  }

  #entry(it: RecordItem, reason: string): Omit<QuarantineEntry, 'at'> {
    return { reason, spoolId: this.#header!.spoolId, seq: it.src.seq(it.i).toString(), pos: it.src.pos(it.i), record: wireEvent(it) };
  }

  #undecodableEntry(u: UndecodableRecord): Omit<QuarantineEntry, 'at'> {
    const seq = payloadSeq(u.payload);
    return {
      reason: `undecodable spool record: ${u.error}`,
      spoolId: this.#header!.spoolId,
      ...(seq !== undefined ? { seq: seq.toString() } : {}),
      pos: u.pos,
      payloadBase64: u.payload.toString('base64'),
    };
  }

  /** After the acks queued: the cursor back to the ack position, the queue emptied. */
  async #resetToAck(): Promise<void> {
    await this.#acking;
    if (this.#ackError) this.#log.warn({ error: this.#ackError.message }, 'acking delivered records failed: they are sent again from the ack position (the reporter finds them duplicates)');
    this.#ackError = undefined;
    this.#queue = [];
    try {
      this.#reader?.rewind();
    } catch {
      this.#reader?.close();
      this.#reader = undefined;
    }
  }

  #fail(error: string, hint: string, extra: Record<string, unknown> = {}): void {
    this.#s.consecutiveFailures++;
    this.#s.lastError = error;
    const n = this.#s.consecutiveFailures;
    // Log the first failures, then every 10th, so a long outage stays readable.
    if (n <= 3 || n % 10 === 0) this.#log.warn({ error, attempt: n, ...extra }, `delivery failed, retrying with backoff: ${hint}`);
  }

  #updateBacklog(reader: SpoolReader): void {
    const st = reader.stat();
    this.#s.backlogBytes = st.writtenBytes - st.ackedBytes;
    this.metrics.backlogBytes.set(this.#s.backlogBytes);
  }

  #poke(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Waits for a spool change, drained()/stop(), or the poll interval. */
  #idle(ms: number): Promise<void> {
    if (this.#woken || this.#stopping) {
      this.#woken = false;
      return Promise.resolve();
    }
    return this.#timedWait(
      ms,
      (done) => done,
      () => {
        this.#woken = false;
      },
    );
  }

  /** Backoff sleep: only stop() cuts it short. */
  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return this.#timedWait(ms, (done) => () => {
      if (this.#stopping) done();
    });
  }

  /**
   * Resolves after `ms`, or earlier when #wake (set to what `wakeFor(done)`
   * returns) ends the wait; ending clears the timer and #wake, then runs `onDone`.
   */
  #timedWait(ms: number, wakeFor: (done: () => void) => () => void, onDone?: () => void): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      const self = this;
      function done() {
        clearTimeout(t);
        self.#wake = undefined;
        onDone?.();
        resolve();
      }
      this.#wake = wakeFor(done);
    });
  }
}

/** A record's wire form, parsed from its JSON (for hooks and quarantine entries only: the batch body uses the JSON as it is). */
function wireEvent(it: RecordItem): WireEvent {
  return JSON.parse(it.src.recordJson(it.i).toString('utf8')) as WireEvent;
}

/** The records' JSON as runs of records adjacent in their readWire() buffer (one slice per run, no copy). */
function jsonRuns(wire: readonly RecordItem[]): Buffer[] {
  const runs: Buffer[] = [];
  let src: WireRecords | undefined;
  let start = 0;
  let end = 0;
  for (const w of wire) {
    const s = w.src.start(w.i);
    if (w.src === src && s === end + 1) {
      end = w.src.end(w.i);
      continue;
    }
    if (src) runs.push(src.json.subarray(start, end));
    src = w.src;
    start = s;
    end = w.src.end(w.i);
  }
  if (src) runs.push(src.json.subarray(start, end));
  return runs;
}

/** The seq inside a version-1 payload (bytes 8..16), when the payload is long enough to hold it. */
function payloadSeq(p: Buffer): bigint | undefined {
  return p.length >= 16 ? p.readBigUInt64LE(8) : undefined;
}

function reasonLabel(reason: string): string {
  if (reason.startsWith('undecodable')) return 'undecodable';
  if (reason.includes('(400)')) return 'batch_rejected';
  if (reason.includes('(413)') || reason.includes('batch limit')) return 'too_large';
  return 'record_rejected';
}
