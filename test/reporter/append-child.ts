// append-child.ts - appends batches of BATCH records (seq START, START+1, ...)
// to the store in DIR as fast as it can, and prints `acked <last seq>` once
// each append has resolved; store.test.ts kills it with SIGKILL.
//   node --import tsx append-child.ts DIR SPOOL_ID START BATCH
import { writeSync } from 'node:fs';

import { EventStore } from '../../src/reporter/ingest/store.js';
import { wireEvent } from './helpers.js';

const [dir, spoolId, start, batch] = process.argv.slice(2);
const size = Number(batch);
const store = EventStore.open(dir!);
writeSync(1, 'ready\n');
for (let seq = Number(start); ; seq += size) {
  const events = Array.from({ length: size }, (_, i) => wireEvent(seq + i, { comment: `${'c'.repeat(300)}${seq + i}` }));
  const r = await store.append({ spoolId: spoolId!, host: 'node1', daemon: 'slurmd', events });
  if (r.stored !== size) throw new Error(`batch at ${seq}: stored ${r.stored} of ${size}`);
  writeSync(1, `acked ${seq + size - 1}\n`);
}
