// Many processes append to one spool at once: no record lost, torn or
// duplicated, seq unique and in file order, while a reader drains and acks.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';

import { SpoolReader, SpoolWriter } from '../../src/native/index.js';
import { tempDir } from './helpers.js';

let cleanup: () => void = () => {};
afterEach(() => cleanup());

function runWorker(dir: string, worker: number, count: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'append-worker.ts'), dir, String(worker), String(count)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${worker} exited ${code}`))));
  });
}

it('keeps every record of 4 concurrent writer processes while a reader acks', async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  new SpoolWriter(t.dir).close(); // create the spool so the reader can open it
  const workers = 4;
  const per = 1500;
  const reader = new SpoolReader(t.dir);
  const seen: { seq: bigint; jobId: number }[] = [];
  let done = false;
  const drain = (async () => {
    while (!done) {
      const { records } = reader.read(500);
      for (const r of records) seen.push({ seq: r.event.seq, jobId: r.event.jobId });
      if (records.length) reader.ack(records.at(-1)!.next, records.at(-1)!.event.seq);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await Promise.all(Array.from({ length: workers }, (_, w) => runWorker(t.dir, w + 1, per)));
  done = true;
  await drain;
  for (const r of reader.readAll()) {
    seen.push({ seq: r.event.seq, jobId: r.event.jobId });
    reader.ack(r.next, r.event.seq);
  }
  const st = reader.stat();
  reader.close();

  expect(seen).toHaveLength(workers * per);
  expect(seen.map((s) => s.seq)).toEqual(Array.from({ length: workers * per }, (_, i) => BigInt(i)));
  expect(new Set(seen.map((s) => s.jobId)).size).toBe(workers * per);
  for (let w = 1; w <= workers; w++) {
    const mine = seen.filter((s) => Math.floor(s.jobId / 1_000_000) === w).map((s) => s.jobId % 1_000_000);
    expect(mine).toEqual(Array.from({ length: per }, (_, i) => i)); // per-writer order kept
  }
  expect(st.corruptSkipped).toBe(0);
  expect(st.writtenBytes).toBe(st.ackedBytes);
  expect(st.segments).toBeLessThanOrEqual(2); // acked segments deleted as the reader went
});
