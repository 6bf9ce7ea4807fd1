// The event store in the state database: one transaction per batch, dedupe
// by (spool id, seq) across restarts, all-or-nothing batches and 503 when a
// write fails, nothing acknowledged lost to kill -9, reading back by id,
// u64 seqs, lone surrogates, one writer per directory.
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { afterEach, describe, expect, it } from 'vitest';

import { ensureMunge } from '../../harness/cluster/munge.js';
import { EventStore, MAX_STORED_SEQ, StoreWriteError, seqProblem } from '../../src/reporter/ingest/store.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { STATE_MIGRATIONS } from '../../src/compose/state-schema.js';
import { batchBody, captureLogger, mungeHeader, newSpoolId, post, startTestServer, storedCount, storedRecords, tempDir, wireEvent } from './helpers.js';

const CHILD = fileURLToPath(new URL('./append-child.ts', import.meta.url));

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
function dir(): string {
  const d = tempDir('gl-store-');
  cleanups.push(d.cleanup);
  return d.dir;
}
function open(d: string, opts: Omit<Parameters<typeof EventStore.open>[1], 'migrations'> = {}): EventStore {
  const st = EventStore.open(d, { ...opts, migrations: STATE_MIGRATIONS });
  cleanups.push(() => st.close());
  return st;
}
const batch = (spoolId: string, seqs: Array<number | string>) => ({ spoolId, host: 'h', daemon: 'slurmctld' as const, events: seqs.map((s) => wireEvent(s, { jobId: 7 })) });
const seqsOf = (st: EventStore) => st.eventsAfter(0, 1_000_000).map((e) => e.record.seq);

describe('EventStore', () => {
  it('dedupes across a restart of the server (the database is reopened)', async () => {
    await ensureMunge();
    const d = dir();
    const spoolId = newSpoolId();
    let s = await startTestServer(d);
    const b1 = batchBody(spoolId, [wireEvent(1), wireEvent(2)]);
    expect((await post(s.url, b1, await mungeHeader(b1))).json).toEqual({ stored: 2, duplicates: 0, rejected: [] });
    await s.stop();

    s = await startTestServer(d);
    cleanups.push(() => s.stop());
    expect(s.server.store.counts().records).toBe(2);
    const b2 = batchBody(spoolId, [wireEvent(1), wireEvent(2), wireEvent(3)]);
    expect((await post(s.url, b2, await mungeHeader(b2))).json).toEqual({ stored: 1, duplicates: 2, rejected: [] });
    expect(storedRecords(d).map((l) => l.seq)).toEqual(['1', '2', '3']);
  });

  it('stores a batch in one transaction, counting stored and duplicates (also inside the batch); durable across reopen', async () => {
    const d = dir();
    const spoolId = newSpoolId();
    const other = newSpoolId();
    let st = EventStore.open(d, { migrations: STATE_MIGRATIONS });
    expect(await st.append(batch(spoolId, [1, 2, 3]))).toEqual({ stored: 3, duplicates: 0 });
    expect(await st.append(batch(spoolId, [3, 4, 4, 5]))).toEqual({ stored: 2, duplicates: 2 });
    // the same seq from another spool is another record
    expect(await st.append(batch(other, [1]))).toEqual({ stored: 1, duplicates: 0 });
    expect(await st.append(batch(spoolId, []))).toEqual({ stored: 0, duplicates: 0 });
    expect(st.counts()).toEqual({ records: 6, commits: 3 });
    // committed: a connection of its own sees every record
    expect(storedCount(d)).toBe(6);
    await st.close();

    st = open(d);
    expect(st.counts()).toEqual({ records: 6, commits: 0 });
    expect([st.has(spoolId, '5'), st.has(spoolId, 6n), st.has(other, '1'), st.has(other, '2')]).toEqual([true, false, true, false]);
    expect(await st.append(batch(spoolId, [5, 6]))).toEqual({ stored: 1, duplicates: 1 });
    expect(storedRecords(d).map((r) => `${r.spoolId === spoolId ? 'a' : 'b'}${r.seq}`)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'a6']);
  });

  it('a batch whose write fails half way stores none of it (StoreWriteError); the store keeps working', async () => {
    const d = dir();
    const logs = captureLogger();
    const st = open(d, { logger: logs.logger });
    const spoolId = newSpoolId();
    await st.append(batch(spoolId, [1]));
    // A full disk: the database may grow by a few pages only, so the first
    // records of the batch fit and a later one does not.
    const pages = st.db.pragma('page_count', { simple: true }) as number;
    await st.writerPragma(`max_page_count = ${pages + 4}`);
    const big = { ...batch(spoolId, [2, 3, 4, 5, 6, 7, 8, 9]), events: [2, 3, 4, 5, 6, 7, 8, 9].map((s) => wireEvent(s, { comment: 'z'.repeat(3000) })) };
    const err = await st.append(big).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreWriteError);
    expect((err as Error).message).toMatch(/full/);
    expect(storedRecords(d).map((r) => r.seq)).toEqual(['1']);
    expect(st.has(spoolId, '2')).toBe(false);
    expect(st.counts().records).toBe(1);
    expect(st.failure).toBeUndefined();
    expect(st.db.inTransaction).toBe(false);
    expect(logs.lines.some((l) => l.level === 50 && /write failed; batch not stored/.test(String(l.msg)))).toBe(true);
    // space again: the same batch is stored whole
    await st.writerPragma('max_page_count = 1073741823');
    expect(await st.append(big)).toEqual({ stored: 8, duplicates: 0 });
    expect(storedCount(d)).toBe(9);
  });

  it('on a shared database: the writer thread waits for a write transaction of the process, each batch is readable once append() resolved, close() leaves the database open', async () => {
    const d = dir();
    const db = openStateDb(join(d, 'gridlink.db'));
    cleanups.push(() => void db.close());
    const st = new EventStore(db);
    const spoolId = newSpoolId();
    expect(await st.append(batch(spoolId, [1]))).toEqual({ stored: 1, duplicates: 0 });
    // the process holds the write lock: the writer's commit waits for it (busy_timeout), not fails
    db.exec('BEGIN IMMEDIATE');
    let done = false;
    const pending = st.append(batch(spoolId, [2])).then((r) => ((done = true), r));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    expect(st.has(spoolId, '2')).toBe(false);
    db.exec('COMMIT');
    expect(await pending).toEqual({ stored: 1, duplicates: 0 });
    // read on the process's connection right after append() resolved
    expect(st.has(spoolId, '2')).toBe(true);
    await st.close();
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(2);
    await expect(st.append(batch(spoolId, [3]))).rejects.toThrow(/closed/);
    // the same database through a second store sees the same records
    expect(seqsOf(new EventStore(db))).toEqual(['1', '2']);
  });

  it("the process's transactions that read before they write run between the writer's commits without SQLITE_BUSY", async () => {
    const d = dir();
    const db = openStateDb(join(d, 'gridlink.db'));
    cleanups.push(() => void db.close());
    const st = new EventStore(db);
    cleanups.push(() => st.close());
    const spoolId = newSpoolId();
    let appending = true;
    const writes = (async () => {
      for (let i = 0; i < 60; i++) await st.append(batch(spoolId, [2 * i + 1, 2 * i + 2]));
      appending = false;
    })();
    // the planner's pattern: read the events, then move a cursor, in one db.transaction()
    const move = db.transaction(() => {
      const n = db.prepare('SELECT count(*) FROM events').pluck().get() as number;
      db.prepare("INSERT INTO meta (key, value) VALUES ('test.cursor', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(String(n));
    });
    let moves = 0;
    while (appending) {
      move();
      moves++;
      await new Promise((r) => setImmediate(r));
    }
    await writes;
    expect(moves).toBeGreaterThan(10);
    expect(st.counts().records).toBe(120);
  });

  it('reads back in store order with eventsAfter(id, limit), resumable from any id, and as an async iterator', async () => {
    const d = dir();
    let st = EventStore.open(d, { migrations: STATE_MIGRATIONS });
    const a = newSpoolId();
    const b = newSpoolId();
    for (let i = 0; i < 30; i++) await st.append(batch(i % 2 ? b : a, [2 * i + 1, 2 * i + 2]));
    const all = st.eventsAfter(0, 1000);
    expect(all).toHaveLength(60);
    expect(all.map((e) => e.record.seq)).toEqual(Array.from({ length: 60 }, (_, i) => String(i + 1)));
    expect(all.every((e, i) => i === 0 || e.id > all[i - 1]!.id)).toBe(true);
    expect(all[0]!.record).toMatchObject({ spoolId: a, host: 'h', daemon: 'slurmctld', event: wireEvent(1, { jobId: 7 }) });
    expect(typeof all[0]!.record.receivedAt).toBe('number');
    expect(all[2]!.record.spoolId).toBe(b);
    // pages
    const first = st.eventsAfter(0, 25);
    expect(first.map((e) => e.record.seq)).toEqual(all.slice(0, 25).map((e) => e.record.seq));
    const rest = st.eventsAfter(first[24]!.id, 1000);
    expect(rest.map((e) => e.record.seq)).toEqual(Array.from({ length: 35 }, (_, i) => String(i + 26)));
    expect(st.eventsAfter(all[59]!.id, 10)).toEqual([]);
    // the iterator, in pages smaller than the store, and from an id
    const it: string[] = [];
    for await (const { record } of st.events({ pageSize: 7 })) it.push(record.seq);
    expect(it).toEqual(all.map((e) => e.record.seq));
    const after: number[] = [];
    for await (const { id } of st.events({ after: all[40]!.id, pageSize: 7 })) after.push(id);
    expect(after).toEqual(all.slice(41).map((e) => e.id));
    // by SLURM job id, up to an id
    const jobs = [1, 2, 3, 4, 5, 6].map((s) => wireEvent(s, { jobId: s % 2 ? 41 : 42 }));
    await st.append({ spoolId: newSpoolId(), host: 'h', daemon: 'slurmd', events: jobs });
    const j41 = st.eventsForJob(41, Number.MAX_SAFE_INTEGER);
    expect(j41.map((e) => [e.record.seq, e.record.event.jobId])).toEqual([
      ['1', 41],
      ['3', 41],
      ['5', 41],
    ]);
    expect(st.eventsForJob(41, j41[1]!.id).map((e) => e.id)).toEqual(j41.slice(0, 2).map((e) => e.id));
    expect(st.eventsForJob(99, Number.MAX_SAFE_INTEGER)).toEqual([]);
    expect(st.eventsForJob(7, Number.MAX_SAFE_INTEGER)).toHaveLength(60);
    const everything = st.eventsAfter(0, 1000);
    // the same ids and records after a reopen
    await st.close();
    st = open(d);
    expect(st.eventsAfter(0, 1000)).toEqual(everything);
    expect(everything.slice(0, 60)).toEqual(all);
  });

  it('batches handed over while a commit is on its way to disk are committed together (group commit), each answered with its own counts', async () => {
    const st = open(dir());
    const spoolId = newSpoolId();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => st.append(batch(spoolId, [2 * i + 1, 2 * i + 2, 2 * i + 2]))));
    expect(results).toEqual(Array.from({ length: 50 }, () => ({ stored: 2, duplicates: 1 })));
    expect(st.counts().records).toBe(100);
    expect(st.counts().commits).toBeGreaterThan(0);
    expect(st.counts().commits).toBeLessThan(50);
    expect(seqsOf(st)).toEqual(Array.from({ length: 100 }, (_, i) => String(i + 1)));
  });

  it('concurrent appends of overlapping batches store each record once', async () => {
    const d = dir();
    const st = open(d);
    const spoolId = newSpoolId();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => st.append(batch(spoolId, [i, i + 1, i + 2]))));
    expect(results.reduce((n, r) => n + r.stored, 0)).toBe(22);
    expect(results.reduce((n, r) => n + r.stored + r.duplicates, 0)).toBe(60);
    const seqs = storedRecords(d).map((l) => Number(l.seq));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(seqs.sort((x, y) => x - y)).toEqual(Array.from({ length: 22 }, (_, i) => i));
  });

  it('keeps u64 seqs up to 2^63-1 exactly (as INTEGER) and refuses larger ones', async () => {
    const d = dir();
    const st = open(d);
    const spoolId = newSpoolId();
    const big = ['9007199254740993', '9223372036854775806', '9223372036854775807']; // 2^53+1 is not a safe JS number
    expect(await st.append(batch(spoolId, big))).toEqual({ stored: 3, duplicates: 0 });
    expect(await st.append(batch(spoolId, ['9007199254740993']))).toEqual({ stored: 0, duplicates: 1 });
    expect(seqsOf(st)).toEqual(big);
    expect(st.has(spoolId, '9007199254740992')).toBe(false);
    expect(st.has(spoolId, MAX_STORED_SEQ)).toBe(true);
    expect(st.db.prepare('SELECT DISTINCT typeof(seq) FROM events').pluck().all()).toEqual(['integer']);
    await expect(st.append(batch(spoolId, [10, '9223372036854775808']))).rejects.toThrow(/above 2\^63-1/);
    expect(st.has(spoolId, '10')).toBe(false);
    expect(st.has(spoolId, '18446744073709551615')).toBe(false);
    expect(seqProblem('9223372036854775807')).toBeUndefined();
    expect(seqProblem('18446744073709551615')).toMatch(/above 2\^63-1/);
    expect(seqProblem('-1')).toMatch(/not a decimal u64/);
  });

  it('keeps non-UTF-8 bytes (lone surrogates) as they are, in the event and in the host', async () => {
    const d = dir();
    let st = EventStore.open(d, { migrations: STATE_MIGRATIONS });
    const spoolId = newSpoolId();
    const name = 'a\udc80\udcffb\u00e9\ud83d\ude00';
    const host = 'node\udcfe1';
    await st.append({ spoolId, host, daemon: 'slurmd', events: [wireEvent(1, { jobName: name, comment: `x\udc80\n"y"` })] });
    await st.append({ spoolId, host: 'n\u00e9ud', daemon: 'slurmd', events: [wireEvent(2)] });
    const raw = st.db.prepare('SELECT host, host_json, event FROM events ORDER BY id').all() as Array<{ host: string; host_json: string | null; event: string }>;
    expect(raw[0]!.event).toContain('a\\udc80\\udcffb\u00e9\u{1f600}');
    expect(raw[0]!.host).toBe('node\ufffd1');
    expect(raw[0]!.host_json).toBe('"node\\udcfe1"');
    expect(raw[1]).toMatchObject({ host: 'n\u00e9ud', host_json: null });
    await st.close();
    st = open(d);
    const [r1, r2] = st.eventsAfter(0, 10).map((e) => e.record);
    expect(r1!.event.jobName).toBe(name);
    expect(r1!.event.comment).toBe('x\udc80\n"y"');
    expect(r1!.host).toBe(host);
    expect(r2!.host).toBe('n\u00e9ud');
  });

  it('kill -9 of a process appending in a loop (4 batches in flight, committed in groups) loses no acknowledged batch, never keeps part of one, and the database opens fine', async () => {
    const d = dir();
    const spoolId = newSpoolId();
    const BATCH = 50;
    const IN_FLIGHT = 4;
    let next = 1;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, d, spoolId, String(next), String(BATCH), String(IN_FLIGHT)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      let acked = next - 1;
      let acks = 0;
      const lines = createInterface({ input: child.stdout });
      const drained = new Promise((resolve) => lines.once('close', resolve));
      await new Promise<void>((resolve, reject) => {
        lines.on('line', (l) => {
          const m = /^acked (\d+)$/.exec(l);
          if (!m) return;
          acked = Number(m[1]);
          // kill at a moment unrelated to the batch boundaries, while it keeps appending
          if (++acks === 20 + round * 7) setTimeout(() => resolve(), Math.floor(Math.random() * 40));
        });
        void exited.then(() => reject(new Error(`append child exited early: ${stderr}`)));
      });
      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      await drained; // every ack it printed
      const lastAcked = acked;

      const st = EventStore.open(d, { migrations: STATE_MIGRATIONS }); // takes over the dead process's lock
      try {
        expect(st.db.pragma('integrity_check', { simple: true })).toBe('ok');
        const seqs = seqsOf(st).map(Number);
        // every acknowledged batch is there, in order, each record once
        expect(seqs.slice(0, lastAcked)).toEqual(Array.from({ length: lastAcked }, (_, i) => i + 1));
        // the batches in flight are each either all there or not at all, and only a prefix of them (they are committed in order)
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
        expect((seqs.length - lastAcked) % BATCH).toBe(0);
        expect(seqs.length - lastAcked).toBeLessThanOrEqual(IN_FLIGHT * BATCH);
        expect(st.counts().records).toBe(seqs.length);
        expect(lastAcked).toBeGreaterThanOrEqual(next - 1 + 20 * BATCH);
        next = seqs.length + 1;
      } finally {
        await st.close();
      }
    }
    const st = open(d);
    expect(await st.append(batch(spoolId, [next - 1, next]))).toEqual({ stored: 1, duplicates: 1 });
  });

  it('warns about files of the earlier JSON-lines store in the directory', async () => {
    const d = dir();
    writeFileSync(join(d, 'seg-00000001.jsonl'), '{}\n');
    writeFileSync(join(d, 'hmac-nonces'), '');
    const logs = captureLogger();
    open(d, { logger: logs.logger });
    const w = logs.lines.find((l) => l.level === 40 && /earlier JSON-lines store/.test(String(l.msg)));
    expect(w).toMatchObject({ count: 2 });
  });

  it('refuses a second writer on the same directory', async () => {
    const d = dir();
    open(d);
    expect(() => EventStore.open(d, { migrations: STATE_MIGRATIONS })).toThrow(/in use by process \d+.*; stop that process or give this one another store directory \(--store\) \(lock file /);
  });

  it('takes over the lock of a dead process', async () => {
    const d = dir();
    writeFileSync(join(d, 'LOCK'), JSON.stringify({ pid: 999_999_999 }));
    const st = open(d);
    expect(st.counts().records).toBe(0);
  });
});

describe('ingest server with a store that cannot write', () => {
  it('answers 503 store_failed, stores nothing of the batch, stays healthy, and stores the retry', async () => {
    await ensureMunge();
    const d = dir();
    const s = await startTestServer(d);
    cleanups.push(() => s.stop());
    const spoolId = newSpoolId();
    const b1 = batchBody(spoolId, [wireEvent(1)]);
    expect((await post(s.url, b1, await mungeHeader(b1))).status).toBe(200);
    const { store } = s.server;
    await store.writerPragma(`max_page_count = ${(store.db.pragma('page_count', { simple: true }) as number) + 4}`);
    const body = batchBody(spoolId, [2, 3, 4, 5, 6, 7, 8, 9].map((n) => wireEvent(n, { comment: 'q'.repeat(3000) })));
    const r = await post(s.url, body, await mungeHeader(body));
    expect(r).toMatchObject({ status: 503, json: { error: 'store_failed' } });
    expect((r.json as { message: string }).message).toMatch(/full.*nothing stored, retry/);
    expect(storedRecords(d).map((x) => x.seq)).toEqual(['1']);
    expect(s.logs.lines.some((l) => l.msg === 'ingest: batch not stored')).toBe(true);
    const h = await fetch(`${s.url}/healthz`);
    expect(h.status).toBe(200);
    await store.writerPragma('max_page_count = 1073741823');
    expect((await post(s.url, body, await mungeHeader(body))).json).toEqual({ stored: 8, duplicates: 0, rejected: [] });
    expect(storedCount(d)).toBe(9);
  });
});

describe('ingest server whose store writer dies', () => {
  it('answers 503, logs it as fatal and stops listening (closed resolves with the reason)', async () => {
    await ensureMunge();
    const d = dir();
    const s = await startTestServer(d);
    cleanups.push(() => s.stop());
    // the writer thread starts with the first batch and opens the database file by name: gone, it cannot
    for (const f of ['gridlink.db', 'gridlink.db-wal', 'gridlink.db-shm']) rmSync(join(d, f), { force: true });
    const body = batchBody(newSpoolId(), [wireEvent(1)]);
    const r = await post(s.url, body, await mungeHeader(body));
    expect(r).toMatchObject({ status: 503, json: { error: 'store_failed' } });
    expect((r.json as { message: string }).message).toMatch(/writer thread failed.*restart the reporter.*nothing stored, retry/);
    const why = await s.server.closed;
    expect(why?.message).toMatch(/writer thread failed/);
    expect(s.server.store.failure).toBe(why);
    expect(s.logs.lines.some((l) => l.level === 60 && /ingest: stopping/.test(String(l.msg)))).toBe(true);
    await expect(post(s.url, body, await mungeHeader(body))).rejects.toThrow();
  });
});

describe('EventStore retention', () => {
  it('prune deletes only records up to the derived id and older than the cutoff, and forgets their dedupe', async () => {
    const st = open(dir());
    const spoolId = newSpoolId();
    await st.append({ ...batch(spoolId, [1, 2, 3]), receivedAt: 1_000 });
    await st.append({ ...batch(spoolId, [4]), receivedAt: 5_000 });
    const ids = st.eventsAfter(0, 10).map((e) => e.id);
    expect(st.prune(ids[1]!, 2_000)).toBe(2); // 1 and 2: derived and old; 3 not derived yet; 4 too recent
    expect(seqsOf(st)).toEqual(['3', '4']);
    expect(st.counts().records).toBe(2);
    expect(st.prune(ids[3]!, 2_000)).toBe(1);
    expect(seqsOf(st)).toEqual(['4']);
    expect(await st.append(batch(spoolId, [1]))).toEqual({ stored: 1, duplicates: 0 });
  });
});
