// append-worker.ts - a separate process appending to a shared spool
// (like concurrent `slurmstepd spank prolog` processes on one node).
import { SpoolWriter } from '../../src/native/index.js';
import { completion } from './helpers.js';

const [dir, worker, count] = process.argv.slice(2);
const w = new SpoolWriter(dir!, { segmentBytes: 64 * 1024 });
for (let i = 0; i < Number(count); i++) w.append(completion(Number(worker) * 1_000_000 + i, { comment: 'x'.repeat(i % 300) }));
w.close();
