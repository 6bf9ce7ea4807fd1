// hooks.ts - user hook modules, run in a worker thread so that a hook that
// throws, hangs or calls process.exit is logged and contained: a hung call is
// timed out and its worker terminated and restarted; process.exit ends only
// the worker. Calls go through a bounded queue that the relay loop never waits
// on (submit() returns at once; a full queue drops the call with a log line).
import { Worker } from 'node:worker_threads';

import type { Logger } from 'pino';

import { kindNameOf, type JobEvent } from '../native/event.js';
import type { RelayMetrics } from './metrics.js';
import type { WireEvent } from './protocol.js';
import { jobEventFields } from './wire.js';

/**
 * What a hook handler receives: a plain copy of the relayed event (the JobEvent
 * fields but formatVersion and the raw bytes), plus where it came from.
 */
export interface GridlinkHookEvent extends Omit<JobEvent, 'formatVersion' | 'bytes'> {
  /** Host and daemon whose spool the event came from. */
  host: string;
  daemon: 'slurmctld' | 'slurmd';
}

/**
 * What a hook module exports (named exports, or a default export object):
 *
 *   // /etc/gridlink/hooks.mjs
 *   export async function onJobComplete(ev) { ... }
 *
 * Each handler runs in a worker thread of the relay, after the event was
 * delivered to the reporter, at most once per event; it must finish within the
 * configured timeout (default 2 s; in a new worker counted from the module's
 * load, which may take HOOK_LOAD_TIMEOUT_MS) or its worker is terminated.
 */
export interface GridlinkHooks {
  /** A job started on a node (SPANK prolog); relayed by that node's slurmd. */
  onJobStart?(event: GridlinkHookEvent): void | Promise<void>;
  /** A job's part on a node ended (SPANK epilog). */
  onJobEnd?(event: GridlinkHookEvent): void | Promise<void>;
  /** A job reached its final state (jobcomp, in slurmctld). */
  onJobComplete?(event: GridlinkHookEvent): void | Promise<void>;
}
export type HookName = keyof GridlinkHooks;

export function hookNameFor(kind: number): HookName | undefined {
  return kind === 1 ? 'onJobStart' : kind === 2 ? 'onJobEnd' : kind === 3 ? 'onJobComplete' : undefined;
}

/** The hook event of a relayed record (its wire form: the relay reads records as wire JSON). */
export function toHookEvent(ev: WireEvent, spoolId: string, host: string, daemon: 'slurmctld' | 'slurmd'): GridlinkHookEvent {
  return {
    kind: ev.kind as JobEvent['kind'],
    kindName: kindNameOf(ev.kind),
    spoolId,
    seq: BigInt(ev.seq),
    host,
    daemon,
    ...jobEventFields(ev, BigInt(ev.writeTimeNs), { ...ev.tres }),
  };
}

// The worker is an eval'd CommonJS script: no file to resolve next to this
// module, so it works from src (tsx), dist, and the embedded runtime alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
const names = ['onJobStart', 'onJobEnd', 'onJobComplete'];
let hooks = {};
const loaded = import(pathToFileURL(workerData.module).href).then((m) => {
  const d = m.default && typeof m.default === 'object' ? m.default : {};
  for (const n of names) hooks[n] = typeof m[n] === 'function' ? m[n] : typeof d[n] === 'function' ? d[n].bind(d) : undefined;
  parentPort.postMessage({ type: 'ready', handlers: names.filter((n) => hooks[n]) });
}, (err) => {
  parentPort.postMessage({ type: 'load-error', error: String((err && err.stack) || err) });
  throw err;
});
loaded.catch(() => {});
parentPort.on('message', async (msg) => {
  try {
    await loaded;
    const fn = hooks[msg.name];
    if (fn) await fn(msg.event);
    parentPort.postMessage({ type: 'done', id: msg.id, ran: !!fn });
  } catch (err) {
    parentPort.postMessage({ type: 'done', id: msg.id, error: String((err && err.stack) || err) });
  }
});
`;

const DROP_LOG_INTERVAL_MS = 10_000;
/**
 * How long a new worker may take to load the hook module. A call's own
 * timeout starts once the module is loaded: a worker's start (a new V8
 * isolate, the module's import) took more than a 300 ms timeout on a loaded
 * machine, and the call was counted as the hook's failure.
 */
export const HOOK_LOAD_TIMEOUT_MS = 10_000;

interface Call {
  id: number;
  name: HookName;
  event: GridlinkHookEvent;
}

type WorkerMessage =
  | { type: 'ready'; handlers: HookName[] }
  | { type: 'load-error'; error: string }
  | { type: 'done'; id: number; ran?: boolean; error?: string };

export interface HookRunnerOptions {
  /** Absolute path of the user's ES module (or CommonJS file). */
  module: string;
  timeoutMs: number;
  /** Calls waiting beyond this many are dropped (logged, counted). */
  queueMax: number;
  logger: Logger;
  metrics?: RelayMetrics;
  /** Heap cap of the hook worker (MiB). */
  maxHeapMb?: number;
}

export interface HookStats {
  queued: number;
  completed: number;
  failed: number;
  timedOut: number;
  dropped: number;
  workerRestarts: number;
}

export class HookRunner {
  readonly #opts: HookRunnerOptions;
  readonly #queue: Call[] = [];
  #worker: Worker | undefined;
  /** Settles when #worker has loaded the module (or failed to, or exited). */
  #workerReady: Promise<void> = Promise.resolve();
  #loadError: string | undefined;
  #busy = false;
  #stopped = false;
  #nextId = 1;
  #lastDropLog = -Infinity;
  #idleWaiters: Array<() => void> = [];
  #current: { call: Call; settle: (outcome: string | undefined) => void } | undefined;
  readonly #stats: HookStats = { queued: 0, completed: 0, failed: 0, timedOut: 0, dropped: 0, workerRestarts: 0 };

  constructor(opts: HookRunnerOptions) {
    this.#opts = opts;
  }

  /** Queues the handler for this event, if any; never blocks. False when dropped. */
  submit(event: GridlinkHookEvent): boolean {
    const name = hookNameFor(event.kind);
    if (!name || this.#stopped) return false;
    if (this.#queue.length >= this.#opts.queueMax) {
      this.#stats.dropped++;
      this.#opts.metrics?.hookDropped.inc();
      // One line per burst, not one per event.
      const now = Date.now();
      if (now - this.#lastDropLog >= DROP_LOG_INTERVAL_MS) {
        this.#opts.logger.warn(
          { hook: name, jobId: event.jobId, seq: event.seq.toString(), queueMax: this.#opts.queueMax, droppedTotal: this.#stats.dropped },
          'hook queue full: calls dropped (the hooks are slower than the events; make them faster or raise the queue bound)',
        );
        this.#lastDropLog = now;
      }
      return false;
    }
    this.#queue.push({ id: this.#nextId++, name, event });
    this.#stats.queued = this.#queue.length;
    if (!this.#busy) void this.#pump();
    return true;
  }

  stats(): HookStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Resolves when the queue is empty and no call runs (tests, graceful stop). */
  idle(): Promise<void> {
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    this.#current?.settle('relay stopping');
    await this.#kill();
    for (const w of this.#idleWaiters.splice(0)) w();
  }

  async #pump(): Promise<void> {
    this.#busy = true;
    try {
      while (!this.#stopped && this.#queue.length > 0) {
        const call = this.#queue.shift()!;
        await this.#run(call);
      }
    } finally {
      this.#busy = false;
      if (this.#queue.length === 0) for (const w of this.#idleWaiters.splice(0)) w();
    }
  }

  #run(call: Call): Promise<void> {
    const { logger } = this.#opts;
    const ctx = { hook: call.name, jobId: call.event.jobId, seq: call.event.seq.toString(), module: this.#opts.module };
    if (this.#loadError !== undefined) {
      this.#fail(call);
      logger.debug(ctx, 'hook module failed to load earlier: call skipped');
      return Promise.resolve();
    }
    const worker = this.#ensureWorker();
    const ready = this.#workerReady;
    return new Promise<void>((resolve) => {
      const timeOut = (what: string) => () => {
        this.#stats.timedOut++;
        this.#stats.workerRestarts++;
        settle(`${what}: worker terminated and restarted`);
        void this.#kill();
      };
      // the load first (a new worker), then the call's own timeout
      let timer = setTimeout(timeOut(`the hook module did not load within ${HOOK_LOAD_TIMEOUT_MS} ms`), HOOK_LOAD_TIMEOUT_MS);
      void ready.then(() => {
        if (this.#current?.call !== call) return;
        clearTimeout(timer);
        timer = setTimeout(timeOut(`did not finish within ${this.#opts.timeoutMs} ms`), this.#opts.timeoutMs);
      });
      const settle = (outcome: string | undefined) => {
        if (this.#current?.call !== call) return;
        this.#current = undefined;
        clearTimeout(timer);
        if (outcome === undefined) this.#stats.completed++;
        else {
          this.#fail(call);
          logger.error({ ...ctx, error: outcome }, `hook ${call.name} failed (delivery is not affected)`);
        }
        resolve();
      };
      this.#current = { call, settle };
      try {
        worker.postMessage({ id: call.id, name: call.name, event: call.event });
      } catch (err) {
        settle(`could not pass the event to the hook worker: ${(err as Error).message}`);
      }
    });
  }

  #fail(call: Call): void {
    this.#stats.failed++;
    this.#opts.metrics?.hookFailures.inc({ handler: call.name });
  }

  #ensureWorker(): Worker {
    if (this.#worker) return this.#worker;
    const w = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { module: this.#opts.module },
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: this.#opts.maxHeapMb ?? 256 },
    });
    w.unref();
    let loaded!: () => void;
    this.#workerReady = new Promise<void>((r) => (loaded = r));
    const { logger } = this.#opts;
    const forward = (stream: NodeJS.ReadableStream, level: 'info' | 'warn') => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          logger[level]({ module: this.#opts.module, hookOutput: buf.slice(0, nl) }, 'hook output');
          buf = buf.slice(nl + 1);
        }
      });
    };
    forward(w.stdout, 'info');
    forward(w.stderr, 'warn');
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') {
        loaded();
        logger.info({ module: this.#opts.module, handlers: m.handlers }, 'hook module loaded');
      } else if (m.type === 'load-error') {
        loaded();
        this.#loadError = m.error;
        logger.error({ module: this.#opts.module, error: m.error }, 'hook module failed to load: hooks are disabled until the relay restarts (fix the module)');
        this.#current?.settle(`hook module failed to load: ${m.error.split('\n')[0]}`);
      } else if (m.type === 'done' && this.#current?.call.id === m.id) this.#current.settle(m.error);
    });
    w.on('error', (err) => {
      loaded();
      if (this.#worker !== w) return;
      logger.error({ module: this.#opts.module, error: err.stack ?? String(err) }, 'hook worker crashed (uncaught error in a hook); restarting it');
      this.#current?.settle(`hook worker crashed: ${err.message}`);
    });
    w.on('exit', (code) => {
      loaded();
      if (this.#worker !== w) return; // terminated on purpose
      this.#worker = undefined;
      this.#stats.workerRestarts++;
      logger.error({ module: this.#opts.module, exitCode: code }, 'hook worker exited (did a hook call process.exit?); a new one starts with the next call');
      this.#current?.settle(`hook worker exited with code ${code} (process.exit in a hook?)`);
    });
    this.#worker = w;
    return w;
  }

  async #kill(): Promise<void> {
    const w = this.#worker;
    if (!w) return;
    this.#worker = undefined;
    await w.terminate().catch(() => 0);
  }
}
