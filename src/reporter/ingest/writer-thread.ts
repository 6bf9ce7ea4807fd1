// writer-thread.ts - the code of the event store's writer thread (./writer.ts
// starts it). It owns a better-sqlite3 connection of its own to the state
// database (WAL, synchronous=FULL) and commits the batches it is sent
// together: every batch that arrived while the previous commit was on its
// way to disk goes into the next transaction (group commit), one SAVEPOINT
// per batch, so a batch that fails is rolled back alone and the others of
// the group are committed. Each batch's result is posted back only after
// COMMIT returned: the ingest answers a relay only then.
//
// The worker is an eval'd CommonJS script (as the relay's hook worker is):
// no file to resolve next to this module, so it runs from src (tsx, vitest),
// from dist and from the .deb alike. better-sqlite3 is required by the path
// the main thread resolved.
//
// Messages in:  {type:'append', id, columns, rows} (columns: one per value,
//               in INSERT_COLUMNS order: {same} | {each} | {lines}, see
//               Column in ./writer.ts), {type:'pragma', id, pragma}, {type:'close'}.
// Messages out: {type:'ready'}, {type:'done', results:[{id, stored} |
//               {id, error, code}], rows, ms}, {type:'broken', message}.

/** What the main thread passes as workerData. */
export interface WriterThreadData {
  /** require() path of better-sqlite3. */
  driver: string;
  /** The database file. */
  path: string;
  busyTimeoutMs: number;
  /** INSERT of one row, and of `rowsPerInsert` rows. */
  insertOne: string;
  insertMany: string;
  rowsPerInsert: number;
  /** Values per row. */
  width: number;
  /** The column (index in a row) that gets the time the group's transaction began where it is null (received_at). */
  stampColumn: number;
  /** A group stops taking batches once it holds this many rows (bounds how long the write lock is held). */
  maxGroupRows: number;
}

export const WRITER_THREAD_SOURCE = `
'use strict';
const { parentPort, workerData: d } = require('node:worker_threads');
const Database = require(d.driver);
const db = new Database(d.path, { fileMustExist: true });
db.pragma('busy_timeout = ' + d.busyTimeoutMs);
if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('the state database ' + d.path + ' is not in WAL mode');
db.pragma('synchronous = FULL');
const one = db.prepare(d.insertOne);
const many = db.prepare(d.insertMany);
const N = d.rowsPerInsert;
const W = d.width;
let queue = [];
let scheduled = false;
let closing = false;
let broken;

// The statement parameters of rows [from, from + n), row after row.
function params(cols, same, now, from, n, out) {
  let p = 0;
  for (let r = from; r < from + n; r++) {
    for (let k = 0; k < W; k++) {
      const col = cols[k];
      const v = col === undefined ? same[k] : col[r];
      out[p++] = v === null && k === d.stampColumn ? now : v;
    }
  }
  return out;
}

function insert(m, now) {
  const rows = m.rows;
  const same = m.columns.map((c) => c.same);
  const cols = m.columns.map((c) => {
    if ('each' in c) return c.each;
    if (!('lines' in c)) return undefined;
    const lines = rows === 0 ? [] : c.lines.split('\\n');
    if (lines.length !== rows) throw new Error('a column of ' + lines.length + ' lines for ' + rows + ' rows (a value held a newline)');
    return lines;
  });
  for (const c of cols) if (c !== undefined && c.length !== rows) throw new Error('a column of ' + c.length + ' values for ' + rows + ' rows');
  let stored = 0;
  let i = 0;
  const manyParams = new Array(N * W);
  const oneParams = new Array(W);
  for (; i + N <= rows; i += N) stored += many.run(params(cols, same, now, i, N, manyParams)).changes;
  for (; i < rows; i++) stored += one.run(params(cols, same, now, i, 1, oneParams)).changes;
  return stored;
}

const failure = (err) => ({ error: String((err && err.message) || err), code: err && err.code });

// After a failed statement or COMMIT: make sure no transaction is left open,
// or mark the store broken (every later batch fails until restart).
function rollback(cause) {
  try {
    if (db.inTransaction) db.exec('ROLLBACK');
  } catch (err) {
    broken = 'the state database ' + d.path + ' is unusable after a failed write (' + cause.message + ') and a failed rollback (' + err.message + '); fix the disk and restart the reporter (SQLite recovers the last committed state at open)';
  }
  if (!broken && (cause.code === 'SQLITE_CORRUPT' || cause.code === 'SQLITE_NOTADB')) {
    broken = 'the state database ' + d.path + ' is corrupt (' + cause.message + '); stop the reporter and restore the database from a backup';
  }
  if (broken) parentPort.postMessage({ type: 'broken', message: broken });
}

// Commits \`group\` in one transaction; returns one result per batch.
function commit(group) {
  const results = new Map();
  let todo = group;
  // A statement error that SQLite answers by rolling back the whole
  // transaction (SQLITE_FULL, IOERR, ...) loses the batches before it too:
  // those are tried again in a new transaction, without the failed one.
  for (;;) {
    if (todo.length === 0) return results;
    if (broken) {
      for (const b of todo) results.set(b.id, { error: broken, code: 'BROKEN' });
      return results;
    }
    const ok = [];
    let retry;
    let now;
    try {
      db.exec('BEGIN IMMEDIATE');
      now = Date.now();
    } catch (err) {
      for (const b of todo) results.set(b.id, failure(err));
      return results;
    }
    for (let i = 0; i < todo.length; i++) {
      const b = todo[i];
      try {
        db.exec('SAVEPOINT batch');
        const stored = insert(b, now);
        db.exec('RELEASE batch');
        ok.push([b, stored]);
      } catch (err) {
        results.set(b.id, failure(err));
        if (db.inTransaction) {
          try {
            db.exec('ROLLBACK TO batch');
            db.exec('RELEASE batch');
            continue;
          } catch (e2) {
            rollback(e2);
          }
        } else {
          rollback(err);
        }
        retry = ok.map(([done]) => done).concat(todo.slice(i + 1));
        break;
      }
    }
    if (retry) {
      todo = retry;
      continue;
    }
    try {
      db.exec('COMMIT');
    } catch (err) {
      rollback(err);
      for (const [b] of ok) results.set(b.id, failure(err));
      return results;
    }
    for (const [b, stored] of ok) results.set(b.id, { stored });
    return results;
  }
}

function flush() {
  scheduled = false;
  while (queue.length > 0) {
    let rows = 0;
    let n = 0;
    while (n < queue.length && (n === 0 || rows + queue[n].rows <= d.maxGroupRows)) rows += queue[n++].rows;
    const group = queue.splice(0, n);
    const t0 = performance.now();
    const results = commit(group);
    parentPort.postMessage({
      type: 'done',
      results: group.map((b) => ({ id: b.id, ...results.get(b.id) })),
      rows,
      ms: performance.now() - t0,
    });
    // Batches that arrived during this commit are taken by the next one,
    // after the message loop has delivered them.
    if (queue.length > 0 && !closing) return schedule();
  }
  if (closing) {
    db.close();
    parentPort.close();
  }
}

function schedule() {
  if (scheduled) return;
  scheduled = true;
  setImmediate(flush);
}

parentPort.on('message', (m) => {
  if (m.type === 'append') {
    queue.push(m);
    schedule();
  } else if (m.type === 'pragma') {
    try {
      parentPort.postMessage({ type: 'pragma', id: m.id, value: db.pragma(m.pragma) });
    } catch (err) {
      parentPort.postMessage({ type: 'pragma', id: m.id, ...failure(err) });
    }
  } else if (m.type === 'close') {
    closing = true;
    if (!scheduled) flush();
  }
});
parentPort.postMessage({ type: 'ready' });
`;
