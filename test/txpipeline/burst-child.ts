// Child process of crash.test.ts: runs a pipeline and submits a burst of
// transfers in chunks, printing a line per chunk, until it is killed.
import { pino } from 'pino';
import type { Hex } from 'viem';

import { metaSchedulerReverts } from '../../src/metascheduler/revert-decoder.js';
import { createRemoteSigner } from '../../src/signer/remote.js';
import { TxPipeline } from '../../src/txpipeline/pipeline.js';
import { openTestDb, transfer } from './helpers.js';

interface Args {
  dir: string;
  rpcUrl: string;
  privateKey: Hex;
  count: number;
  chunk: number;
  parallel: number;
  /** Sign through this remote signer instead of with privateKey. */
  signer?: { url: string; address: Hex; caFile: string; certFile: string; keyFile: string };
}

const args = JSON.parse(process.argv[2]!) as Args;
const db = openTestDb(args.dir);
const signing = args.signer ? { account: createRemoteSigner({ ...args.signer, chainId: 31337 }).account } : { privateKey: args.privateKey };
const p = await TxPipeline.open({ db, revertDecoder: metaSchedulerReverts, rpcUrl: args.rpcUrl, chainId: 31337, ...signing, pollMs: 100, confirmations: 1, logger: pino({ level: 'silent' }) });
p.on('burst', () => {});
p.start();
let next = 0;
async function worker(): Promise<void> {
  while (next < args.count) {
    const from = next;
    next = Math.min(args.count, next + args.chunk);
    const reqs = [];
    for (let i = from; i < next; i++) reqs.push(transfer('burst', i));
    // Printed inside the SQLite transaction that stores the chunk (stdout is a pipe: synchronous).
    const outs = await p.submit(reqs, { onSigned: (_r, tx, i) => i === reqs.length - 1 && process.stdout.write(`signed ${tx.nonce}\n`) });
    process.stdout.write(`chunk ${from} ok=${outs.filter((o) => o.ok).length}\n`);
  }
}
await Promise.all(Array.from({ length: args.parallel }, () => worker()));
process.stdout.write('submitted\n');
setInterval(() => {}, 1000); // keep following until killed
