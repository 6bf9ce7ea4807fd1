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
//
// This file is the delivery (batches, flights, answers, quarantine, retries);
// following the spool (its lock, reader, watch, queue and acks) is
// spool-follower.ts; the loop's waits are src/util/wakeup.ts.
import { randomBytes } from 'node:crypto';

import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { SpoolPosition } from '../native/event.js';
import type { SpoolReader, UndecodableRecord, WireRecords } from '../native/spool.js';
import { Wakeup } from '../util/wakeup.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { backoffDelay } from './jittered-backoff.js';
import type { RelayConfig } from './config.js';
import { HookRunner, toHookEvent, type HookStats } from './hooks.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { MAX_BATCH_BYTES, type WireEvent } from './protocol.js';
import { QuarantineFile, type QuarantineEntry } from './quarantine.js';
import { createTransport } from './choose-transport.js';
import type { Answer, Transport } from './transport.js';
import { payloadSeq, SpoolFollower, type Item, type RecordItem } from './spool-follower.js';
import { batchOverheadBytes, buildBatchBody } from './wire.js';

export { RELAY_LOCK_FILE } from './spool-follower.js';

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

export function startRelay(config: RelayConfig, opts: StartRelayOptions = {}): Relay {
  const r = new RelayLoop(config, opts);
  r.start();
  return r;
}

class RelayLoop implements Relay {
  readonly metrics: RelayMetrics;
  readonly #config: RelayConfig;
  readonly #log: Logger;
  readonly #transport: Transport;
  readonly #auth: Authenticator;
  readonly #random: () => number;
  readonly #quarantine: QuarantineFile;
  readonly #hooks: HookRunner | undefined;
  readonly #stopAc = new AbortController();
  readonly #spool: SpoolFollower;
  /** Batches sent and not yet acked, in spool order. */
  #flights: Flight[] = [];
  /** Resolves once the last flight's POST was handed to the transport (sends stay in spool order). */
  #lastSent: Promise<void> = Promise.resolve();
  /** The current round (see the top) and the index of its next batch. */
  #round = { round: '', index: 0 };
  #maxRecords: number;
  #maxBytes: number;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #loop: Promise<void> = Promise.resolve();
  /** Cut short by a spool change, drained() or stop(); a wake with nobody waiting is kept for the next idle wait. */
  readonly #idleWake = new Wakeup();
  /** Backoff sleeps: only stop() cuts them short. */
  readonly #stopWake = new Wakeup();
  #drainWaiters: Array<() => void> = [];
  readonly #stats: Omit<RelayStats, 'batchMaxRecords' | 'batchMaxBytes' | 'hooks'> = {
    relayed: 0,
    quarantined: 0,
    retries: 0,
    batches: 0,
    consecutiveFailures: 0,
    backlogBytes: 0,
  };

  constructor(config: RelayConfig, opts: StartRelayOptions) {
    this.#config = config;
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
    this.#spool = new SpoolFollower({
      config,
      log: this.#log,
      wake: () => this.#poke(),
      onBacklog: (bytes) => {
        this.#stats.backlogBytes = bytes;
        this.metrics.backlogBytes.set(bytes);
      },
      onAcked: (next, delivered) => {
        this.#stats.ack = next;
        this.#deliver(delivered);
      },
    });
  }

  start(): void {
    this.#log.info({ reporter: this.#config.reporterUrl, auth: this.#config.auth.kind, hooks: this.#config.hooks?.module }, 'relay starting');
    this.#loop = this.#run();
  }

  stats(): RelayStats {
    return { ...this.#stats, batchMaxRecords: this.#maxRecords, batchMaxBytes: this.#maxBytes, hooks: this.#hooks?.stats() };
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
    this.#stopWake.wake();
    await this.#loop;
    clearTimeout(abortTimer);
    this.#stopAc.abort();
    await this.#transport.close();
    await this.#hooks?.stop();
    this.#spool.close();
    this.#log.info(this.stats(), 'relay stopped');
  }

  // ---- the loop ----

  async #run(): Promise<void> {
    // After stop(): no new batch, but the answers of those on their way are taken (until the grace ends).
    while (!this.#stopping || this.#flights.length > 0) {
      try {
        if (!(await this.#step())) {
          if (this.#drainWaiters.length > 0) {
            await this.#spool.acked();
            for (const w of this.#drainWaiters.splice(0)) w();
          }
          await this.#idle(this.#config.pollIntervalMs);
        }
      } catch (err) {
        // The spool or the quarantine file failed: nothing more was acked; start over from the ack position.
        this.#fail((err as Error).message, 'the relay retries from the last ack position; see the error for what to fix');
        await this.#abandon();
        await this.#spool.resetToAck();
        await this.#sleep(backoffDelay(this.#config.backoff, this.#stats.consecutiveFailures - 1, this.#random));
      }
    }
    const ackError = await this.#spool.settled();
    if (ackError) this.#log.warn({ error: ackError.message }, 'relay stopped with records delivered but not acked: the next start sends them again (the reporter finds them duplicates)');
  }

  /**
   * Sends batches until batchesInFlight are on their way, then takes the
   * oldest one's answer (and those of the next ones already answered) and acks
   * them with one spool sync: true when the relay made progress or should try
   * again at once, false when caught up.
   */
  async #step(): Promise<boolean> {
    const reader = this.#spool.open();
    if (!reader) return false; // no spool yet: nothing to deliver
    if (this.#spool.ackFailed) await this.#spool.acked(); // throws: the loop starts over from the ack position
    if (!this.#stopping) this.#launch(reader);
    if (this.#flights.length === 0) {
      this.#spool.updateBacklog(reader);
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
        if (last) this.#spool.queueAck(reader, last, delivered);
        await this.#abandon();
        await this.#spool.resetToAck();
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
        this.#stats.retries++;
        this.metrics.retries.inc();
        this.#fail(`${answer.status !== undefined ? `HTTP ${answer.status}: ` : ''}${answer.detail}`, answer.hint, { records: f.wire.length });
        await this.#sleep(backoffDelay(this.#config.backoff, this.#stats.consecutiveFailures - 1, this.#random));
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
        this.#stats.batches++;
        this.#stats.lastSuccessAt = Date.now();
        this.metrics.lastSuccess.set(this.#stats.lastSuccessAt / 1000);
      }
      last = f.range[f.range.length - 1]!;
      this.#flights.shift();
      // The next answers already in: acked with this one (one spool sync for all).
      if (!this.#flights[0]?.settled) break;
    }
    this.#spool.queueAck(reader, last!, delivered);
    if (this.#stats.consecutiveFailures > 0) this.#log.info({ after: this.#stats.consecutiveFailures }, 'reporter reachable again: delivering');
    this.#stats.consecutiveFailures = 0;
    this.#stats.lastError = undefined;
    return true;
  }

  /** Takes batches off the queue and sends them, in spool order, until batchesInFlight are on their way or the queue is empty. */
  #launch(reader: SpoolReader): void {
    while (this.#flights.length < this.#config.batchesInFlight) {
      this.#spool.fill(reader, this.#maxRecords);
      if (this.#spool.queue.length === 0) return;
      const { range, wire, local } = this.#takeBatch();
      this.#spool.queue.splice(0, range.length);
      const f: Flight = { range, wire, local, bodyBytes: 0, answer: undefined, settled: true };
      if (wire.length > 0) {
        // Nothing on its way: a new round (the reporter may have restarted, or the last one failed).
        if (!this.#flights.some((g) => g.answer)) this.#round = { round: randomBytes(8).toString('hex'), index: 0 };
        const pipeline = { round: this.#round.round, index: this.#round.index++ };
        const st = reader.stat();
        const spool = { appended: String(st.nextSeq), backlogBytes: Math.max(0, st.writtenBytes - st.ackedBytes) };
        const body = buildBatchBody({ ...this.#spool.header, sentAt: Date.now(), pipeline, spool }, jsonRuns(wire));
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
    this.#stats.relayed += delivered.length;
    this.metrics.relayed.inc(delivered.length);
    if (this.#hooks) for (const d of delivered) this.#hooks.submit(toHookEvent(wireEvent(d), this.#spool.header.spoolId, this.#config.host, this.#config.daemon));
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

  /** The longest queue prefix within the limits; records the protocol cannot carry go to local quarantine. */
  #takeBatch(): { range: Item[]; wire: RecordItem[]; local: Omit<QuarantineEntry, 'at'>[] } {
    const range: Item[] = [];
    const wire: RecordItem[] = [];
    const local: Omit<QuarantineEntry, 'at'>[] = [];
    const header = this.#spool.header;
    let bytes = batchOverheadBytes(header, 0) + 16 + PIPELINE_FIELD_BYTES;
    // The most a record may be: alone in a batch, within the protocol's limit.
    const maxRecordBytes = MAX_BATCH_BYTES - (batchOverheadBytes(header, 1) + 16 + PIPELINE_FIELD_BYTES);
    for (const it of this.#spool.queue) {
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

  /** Appends to the quarantine file (fsync'd), before the ack that covers the records. */
  #quarantineAll(entries: Omit<QuarantineEntry, 'at'>[]): void {
    if (entries.length > 0) {
      this.#quarantine.append(entries);
      this.#stats.quarantined += entries.length;
      for (const e of entries) this.metrics.quarantined.inc({ reason: reasonLabel(e.reason) });
      this.#log.warn(
        { quarantined: entries.length, file: this.#quarantine.path, reasons: [...new Set(entries.map((e) => e.reason))].slice(0, 5) },
        'records quarantined (not relayed): inspect the quarantine file',
      );
    }
  }

  #entry(it: RecordItem, reason: string): Omit<QuarantineEntry, 'at'> {
    return { reason, spoolId: this.#spool.header.spoolId, seq: it.src.seq(it.i).toString(), pos: it.src.pos(it.i), record: wireEvent(it) };
  }

  #undecodableEntry(u: UndecodableRecord): Omit<QuarantineEntry, 'at'> {
    const seq = payloadSeq(u.payload);
    return {
      reason: `undecodable spool record: ${u.error}`,
      spoolId: this.#spool.header.spoolId,
      ...(seq !== undefined ? { seq: seq.toString() } : {}),
      pos: u.pos,
      payloadBase64: u.payload.toString('base64'),
    };
  }

  #fail(error: string, hint: string, extra: Record<string, unknown> = {}): void {
    this.#stats.consecutiveFailures++;
    this.#stats.lastError = error;
    const n = this.#stats.consecutiveFailures;
    // Log the first failures, then every 10th, so a long outage stays readable.
    if (n <= 3 || n % 10 === 0) this.#log.warn({ error, attempt: n, ...extra }, `delivery failed, retrying with backoff: ${hint}`);
  }

  #poke(): void {
    this.#idleWake.wake();
  }

  /** Waits for a spool change, drained()/stop(), or the poll interval. */
  #idle(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return this.#idleWake.wait(ms);
  }

  /** Backoff sleep: only stop() cuts it short. */
  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return this.#stopWake.wait(ms);
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

function reasonLabel(reason: string): string {
  if (reason.startsWith('undecodable')) return 'undecodable';
  if (reason.includes('(400)')) return 'batch_rejected';
  if (reason.includes('(413)') || reason.includes('batch limit')) return 'too_large';
  return 'record_rejected';
}
