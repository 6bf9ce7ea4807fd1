// relay.ts - drain one spool into the reporter: read from the ack position,
// batch, authenticate, POST, and ack only what the reporter durably took.
// One batch in flight, so the reporter sees each spool in order.
import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';

import { pino, type Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { JobEvent, SpoolPosition } from '../native/event.js';
import { SpoolReader, type UndecodableRecord } from '../native/spool.js';
import { acquireDirLock, type DirLock } from '../reporter/ingest/lock.js';
import { createAuthenticator, type Authenticator } from './auth.js';
import { backoffDelay } from './backoff.js';
import type { RelayConfig } from './config.js';
import { HookRunner, toHookEvent, type HookStats } from './hooks.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { MAX_BATCH_BYTES } from './protocol.js';
import { QuarantineFile, type QuarantineEntry } from './quarantine.js';
import { createTransport, type Answer, type Transport } from './transport.js';
import { batchOverheadBytes, buildBatchBody, toWireEvent, type BatchHeader } from './wire.js';

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
  /** Finishes the in-flight batch if it is answered within graceMs (default 2000), else abandons it unacked. */
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

type Item =
  | { kind: 'record'; event: JobEvent; pos: SpoolPosition; next: SpoolPosition; json?: string; bytes?: number }
  | { kind: 'undecodable'; rec: UndecodableRecord; pos: SpoolPosition; next: SpoolPosition };

type RecordItem = Extract<Item, { kind: 'record' }>;

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
  #lastSeq: bigint | undefined;
  #maxRecords: number;
  #maxBytes: number;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #loop: Promise<void> = Promise.resolve();
  #woken = false;
  #wake: (() => void) | undefined;
  #drainWaiters: Array<() => void> = [];
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
    this.#transport = opts.transport ?? createTransport(config.reporterUrl, { requestTimeoutMs: config.requestTimeoutMs, httpClient: config.httpClient });
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
    while (!this.#stopping) {
      try {
        if (!(await this.#step())) {
          for (const w of this.#drainWaiters.splice(0)) w();
          await this.#idle(this.#c.pollIntervalMs);
        }
      } catch (err) {
        // The spool or the quarantine file failed: nothing was acked; start over from the ack position.
        this.#fail((err as Error).message, 'the relay retries from the last ack position; see the error for what to fix');
        this.#resetToAck();
        await this.#sleep(backoffDelay(this.#c.backoff, this.#s.consecutiveFailures - 1, this.#random));
      }
    }
  }

  /** One batch: true when the relay made progress or should try again at once, false when caught up. */
  async #step(): Promise<boolean> {
    const reader = this.#openReader();
    if (!reader) return false; // no spool yet: nothing to deliver
    this.#fill(reader);
    if (this.#queue.length === 0) {
      this.#updateBacklog(reader);
      return false;
    }
    const { range, wire, local } = this.#takeBatch();
    const delivered: RecordItem[] = [];
    const entries: Omit<QuarantineEntry, 'at'>[] = local;
    if (wire.length > 0) {
      const body = buildBatchBody({ ...this.#header!, sentAt: Date.now() }, wire.map((w) => w.json!));
      const answer = await this.#post(body);
      if (answer.kind === 'retry') {
        if (this.#stopping) return true; // abandoned: not acked, the next start resends it
        this.#s.retries++;
        this.metrics.retries.inc();
        this.#fail(`${answer.status !== undefined ? `HTTP ${answer.status}: ` : ''}${answer.detail}`, answer.hint, { records: wire.length });
        this.#resetToAck();
        await this.#sleep(backoffDelay(this.#c.backoff, this.#s.consecutiveFailures - 1, this.#random));
        return true;
      }
      if (answer.kind === 'too-large') {
        if (wire.length > 1) {
          this.#maxRecords = Math.max(1, Math.floor(wire.length / 2));
          this.#maxBytes = Math.max(1024, Math.floor(body.length / 2));
          this.#log.warn(
            { records: wire.length, bytes: body.length, batchMaxRecords: this.#maxRecords, batchMaxBytes: this.#maxBytes },
            'reporter answered 413: batch size halved (lower batchMaxBytes to match the reporter\'s body limit)',
          );
          return true;
        }
        entries.push(...wire.map((w) => this.#entry(w, `reporter refused the record as too large (413): ${answer.detail}`)));
      } else if (answer.kind === 'invalid') {
        entries.push(...wire.map((w) => this.#entry(w, `reporter rejected the whole batch (400): ${answer.detail}`)));
      } else {
        const rejected = new Map<number, string>();
        for (const rj of answer.result.rejected) {
          if (rj.index < wire.length) rejected.set(rj.index, rj.reason);
          else this.#log.warn({ rejected: rj, records: wire.length }, 'reporter rejected a record index outside the batch: ignored');
        }
        const accounted = answer.result.stored + answer.result.duplicates + rejected.size;
        if (accounted !== wire.length)
          this.#log.warn({ ...answer.result, records: wire.length }, 'reporter\'s IngestResult does not add up to the batch size: acking as protocol.ts says');
        wire.forEach((w, i) => {
          const why = rejected.get(i);
          if (why === undefined) delivered.push(w);
          else entries.push(this.#entry(w, `reporter rejected the record: ${why}`));
        });
      }
    }
    this.#ack(reader, range, entries);
    this.#s.relayed += delivered.length;
    this.metrics.relayed.inc(delivered.length);
    if (wire.length > 0 && delivered.length + entries.length > 0) {
      this.#s.batches++;
      this.#s.lastSuccessAt = Date.now();
      this.metrics.lastSuccess.set(this.#s.lastSuccessAt / 1000);
    }
    if (this.#s.consecutiveFailures > 0) this.#log.info({ after: this.#s.consecutiveFailures }, 'reporter reachable again: delivering');
    this.#s.consecutiveFailures = 0;
    this.#s.lastError = undefined;
    this.#updateBacklog(reader);
    if (this.#hooks) for (const d of delivered) this.#hooks.submit(toHookEvent(d.event, this.#c.host, this.#c.daemon));
    return true;
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
    const { records, undecodable } = reader.read(want);
    const items: Item[] = [
      ...records.map((r): Item => ({ kind: 'record', event: r.event, pos: r.pos, next: r.next })),
      ...undecodable.map((u): Item => ({ kind: 'undecodable', rec: u, pos: u.pos, next: u.next })),
    ];
    if (undecodable.length > 0) items.sort((a, b) => a.pos.total - b.pos.total);
    this.#queue.push(...items);
  }

  /** The longest queue prefix within the limits; records the protocol cannot carry go to local quarantine. */
  #takeBatch(): { range: Item[]; wire: RecordItem[]; local: Omit<QuarantineEntry, 'at'>[] } {
    const range: Item[] = [];
    const wire: RecordItem[] = [];
    const local: Omit<QuarantineEntry, 'at'>[] = [];
    let bytes = batchOverheadBytes(this.#header!, 0) + 16;
    for (const it of this.#queue) {
      if (it.kind === 'undecodable') {
        range.push(it);
        local.push(this.#undecodableEntry(it.rec));
        continue;
      }
      if (it.json === undefined) {
        it.json = JSON.stringify(toWireEvent(it.event));
        it.bytes = Buffer.byteLength(it.json);
      }
      if (it.bytes! + batchOverheadBytes(this.#header!, 1) + 16 > MAX_BATCH_BYTES) {
        range.push(it);
        local.push(this.#entry(it, `record is ${it.bytes} bytes as JSON, over the protocol's ${MAX_BATCH_BYTES}-byte batch limit`));
        continue;
      }
      if (wire.length > 0 && (wire.length >= this.#maxRecords || bytes + it.bytes! + 1 > this.#maxBytes)) break;
      range.push(it);
      wire.push(it);
      bytes += it.bytes! + 1;
    }
    return { range, wire, local };
  }

  async #post(body: Buffer): Promise<Answer> {
    let auth: string;
    try {
      auth = await this.#auth(body);
    } catch (err) {
      return { kind: 'retry', detail: (err as Error).message, hint: 'the batch could not be authenticated' };
    }
    return this.#transport.post(body, auth, this.#stopAc.signal);
  }

  /** Quarantine (fsync'd), sync the spool, then ack the whole range. */
  #ack(reader: SpoolReader, range: Item[], entries: Omit<QuarantineEntry, 'at'>[]): void {
    const last = range[range.length - 1]!;
    const lastSeq = last.kind === 'record' ? last.event.seq : (payloadSeq(last.rec.payload) ?? this.#lastSeq ?? 0n);
    if (entries.length > 0) {
      this.#quarantine.append(entries);
      this.#s.quarantined += entries.length;
      for (const e of entries) this.metrics.quarantined.inc({ reason: reasonLabel(e.reason) });
      this.#log.warn(
        { quarantined: entries.length, file: this.#quarantine.path, reasons: [...new Set(entries.map((e) => e.reason))].slice(0, 5) },
        'records quarantined (not relayed): inspect the quarantine file',
      );
    }
    reader.sync();
    reader.ack(last.next, lastSeq);
    this.#lastSeq = lastSeq;
    this.#s.ack = last.next;
    this.#queue.splice(0, range.length);
  }

  #entry(it: RecordItem, reason: string): Omit<QuarantineEntry, 'at'> {
    return { reason, spoolId: it.event.spoolId, seq: it.event.seq.toString(), pos: it.pos, record: toWireEvent(it.event) };
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

  #resetToAck(): void {
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
