// append-child.ts - appends batches of BATCH records (seq START, START+1, ...)
// to the store in DIR as fast as it can, keeping IN_FLIGHT batches handed to
// the writer thread at once (so they are committed in groups), and prints
// `acked <last seq>` once each append has resolved, in order; store.test.ts
// kills it with SIGKILL.
//   node --import tsx append-child.ts DIR SPOOL_ID START BATCH [IN_FLIGHT]
import { writeSync } from 'node:fs';

import { EventStore } from '../../src/reporter/ingest/store.js';
import { STATE_MIGRATIONS } from '../../src/compose/state-schema.js';
import { wireEvent } from './helpers.js';

const [dir, spoolId, start, batch, inFlight] = process.argv.slice(2);
const size = Number(batch);
const depth = Number(inFlight ?? 1);
const store = EventStore.open(dir!, { migrations: STATE_MIGRATIONS });
writeSync(1, 'ready\n');
const append = (seq: number) => {
  const events = Array.from({ length: size }, (_, i) => wireEvent(seq + i, { comment: `${'c'.repeat(300)}${seq + i}` }));
  return store.append({ spoolId: spoolId!, host: 'node1', daemon: 'slurmd', events }).then((r) => {
    if (r.stored !== size) throw new Error(`batch at ${seq}: stored ${r.stored} of ${size}`);
    return seq + size - 1;
  });
};
const queue: Array<Promise<number>> = [];
let next = Number(start);
for (;;) {
  while (queue.length < depth) {
    queue.push(append(next));
    next += size;
  }
  writeSync(1, `acked ${await queue.shift()!}\n`);
}
