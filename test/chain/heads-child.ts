// heads-child.ts - a process whose only handles are the shared new-head
// subscription of src/chain/heads.ts: two subscribers on the WebSocket URL in
// argv[2], both started together; after a head reached both, close() must
// leave nothing behind, so the process ends by itself (no process.exit).
import { pino } from 'pino';

import { HeadSubscription } from '../../src/chain/heads.js';

const heads = new HeadSubscription(process.argv[2]!, pino({ level: 'warn' }));
const seen = [0, 0];
heads.onHead(() => seen[0]!++);
heads.onHead(() => seen[1]!++);
heads.start();
const giveUp = setTimeout(() => {
  clearInterval(poll);
  process.stdout.write('no head within 10 s\n');
  process.exitCode = 2;
  void heads.close();
}, 10_000);
const poll = setInterval(() => {
  if (seen[0]! > 0 && seen[1]! > 0) {
    clearInterval(poll);
    clearTimeout(giveUp);
    process.stdout.write(`heads ${seen[0]} ${seen[1]}\n`);
    void heads.close().then(() => process.stdout.write('closed\n'));
  }
}, 20);
