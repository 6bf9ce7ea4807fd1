// writer.ts - the main-thread side of the event store's writer thread
// (./writer-thread.ts): hands batches to the thread and resolves each one's
// promise once its group commit has returned, so the event loop never waits
// for an fsync. The thread keeps the process alive only while a batch is in
// flight. A thread that dies (an exception, a failed open, exit) fails every
// batch in flight and every later one, with a message saying what to do;
// nothing is ever left waiting.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

import { WRITER_THREAD_SOURCE, type WriterThreadData } from './writer-thread.js';

export interface StoreWriterOptions {
  /** The database file (migrated, WAL). */
  path: string;
  insertOne: string;
  insertMany: string;
  rowsPerInsert: number;
  width: number;
  /** See WriterThreadData.stampColumn. */
  stampColumn: number;
  maxGroupRows?: number;
  busyTimeoutMs?: number;
  /** After each group commit: batches committed, rows, milliseconds from BEGIN to COMMIT. */
  onCommit?: (batches: number, rows: number, ms: number) => void;
  /** Once, when the writer can take no more batches (the thread died, or the database is unusable). */
  onBroken?: (err: Error) => void;
}

/**
 * One column of a batch's rows: the same value in every row, one value per
 * row (a typed array's buffer is moved to the thread, not copied), or one
 * string per row joined by '\n' (text that never holds a raw newline, such
 * as JSON.stringify's output: one string crosses to the thread, not one per row).
 */
export type Column = { same: unknown } | { each: unknown[] | BigInt64Array | Float64Array } | { lines: string };

/** A batch the writer did not commit: nothing of it is stored. `code` is SQLite's (e.g. SQLITE_FULL) when it has one. */
export class WriterError extends Error {
  override readonly name = 'WriterError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

type Result = { id: number; stored: number } | { id: number; error: string; code?: string };
type FromThread =
  | { type: 'ready' }
  | { type: 'done'; results: Result[]; rows: number; ms: number }
  | { type: 'pragma'; id: number; value?: unknown; error?: string }
  | { type: 'broken'; message: string };

interface Waiter {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

const require = createRequire(import.meta.url);

export class StoreWriter {
  readonly #opts: StoreWriterOptions;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, Waiter>();
  readonly #exited: Promise<void>;
  #next = 1;
  #broken: Error | undefined;
  #closing = false;
  #ref = false;

  constructor(o: StoreWriterOptions) {
    this.#opts = o;
    const data: WriterThreadData = {
      driver: require.resolve('better-sqlite3'),
      path: o.path,
      busyTimeoutMs: o.busyTimeoutMs ?? 5000,
      insertOne: o.insertOne,
      insertMany: o.insertMany,
      rowsPerInsert: o.rowsPerInsert,
      width: o.width,
      stampColumn: o.stampColumn,
      maxGroupRows: o.maxGroupRows ?? 10_000,
    };
    this.#worker = new Worker(WRITER_THREAD_SOURCE, { eval: true, workerData: data, name: 'gridlink event store writer' });
    this.#worker.unref();
    this.#worker.on('message', (m: FromThread) => this.#onMessage(m));
    this.#worker.on('error', (err) => this.#fail(`the event store's writer thread failed: ${err.message}`));
    this.#exited = new Promise((resolve) =>
      this.#worker.once('exit', (code) => {
        if (!this.#closing || this.#waiting.size > 0) this.#fail(`the event store's writer thread exited (code ${code})`);
        resolve();
      }),
    );
  }

  /** Set once the writer takes no more batches; the message says what to do. */
  get failure(): Error | undefined {
    return this.#broken;
  }

  /**
   * Commits `rows` rows (one Column per value, in the INSERT's column order)
   * with the batches that arrive meanwhile; resolves with how many were new,
   * once on disk. Rejects with WriterError when nothing of the batch was
   * stored. Typed arrays given are moved to the thread (unusable here after).
   */
  append(columns: Column[], rows: number): Promise<number> {
    if (columns.length !== this.#opts.width) return Promise.reject(new WriterError(`a batch of ${columns.length} columns for an INSERT of ${this.#opts.width}`));
    const transfer = columns.flatMap((c) => ('each' in c && ArrayBuffer.isView(c.each) ? [c.each.buffer as ArrayBuffer] : []));
    return this.#send({ type: 'append', columns, rows }, transfer) as Promise<number>;
  }

  /** Runs a PRAGMA on the writer's connection (tests: max_page_count, to make the disk "full"). */
  pragma(pragma: string): Promise<unknown> {
    return this.#send({ type: 'pragma', pragma });
  }

  /** Commits what was handed over, closes the thread's connection and ends the thread (terminated after `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    if (!this.#closing) {
      this.#closing = true;
      this.#worker.postMessage({ type: 'close' });
    }
    this.#worker.ref();
    const timer = setTimeout(() => void this.#worker.terminate(), timeoutMs);
    await this.#exited;
    clearTimeout(timer);
  }

  #send(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    if (this.#broken) return Promise.reject(new WriterError(this.#broken.message, 'BROKEN'));
    if (this.#closing) return Promise.reject(new WriterError('the event store is closed', 'CLOSED'));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#refresh();
      this.#worker.postMessage({ ...msg, id }, transfer);
    });
  }

  #settle(id: number, f: (w: Waiter) => void): void {
    const w = this.#waiting.get(id);
    if (!w) return;
    this.#waiting.delete(id);
    f(w);
  }

  #onMessage(m: FromThread): void {
    if (m.type === 'done') {
      let committed = 0;
      for (const r of m.results) {
        if ('stored' in r) committed++;
        this.#settle(r.id, (w) => ('stored' in r ? w.resolve(r.stored) : w.reject(new WriterError(r.error, r.code))));
      }
      if (committed > 0) this.#opts.onCommit?.(committed, m.rows, m.ms);
    } else if (m.type === 'pragma') {
      this.#settle(m.id, (w) => (m.error === undefined ? w.resolve(m.value) : w.reject(new WriterError(m.error))));
    } else if (m.type === 'broken') {
      this.#fail(m.message);
    }
    this.#refresh();
  }

  /** Marks the writer broken, once, and fails everything in flight. */
  #fail(message: string): void {
    if (!this.#broken) {
      const hint = /restart|restore|fix the disk/.test(message) ? '' : '; nothing in flight was acknowledged (the relays send it again): restart the reporter';
      this.#broken = new Error(`${message}${hint}`);
      this.#opts.onBroken?.(this.#broken);
    }
    const err = new WriterError(this.#broken.message, 'BROKEN');
    for (const id of [...this.#waiting.keys()]) this.#settle(id, (w) => w.reject(err));
    this.#refresh();
  }

  /** The thread keeps the process alive only while something waits for it. */
  #refresh(): void {
    const want = this.#waiting.size > 0 || this.#closing;
    if (want === this.#ref) return;
    this.#ref = want;
    if (want) this.#worker.ref();
    else this.#worker.unref();
  }
}
