// crash-entry.ts - `gridlink supervisor` for the kill -9 tests: the real
// service on the JSON configuration in argv[2], killing itself with SIGKILL
// the first time a claim reaches the checkpoint named by GL_CRASH_AT
// ('before-submit': claimed, about to submit; 'after-submit': submitted to
// SLURM, the job map not written yet). Run with `node --import tsx` so the
// signal kills the supervisor itself, not a wrapper.
import { readFileSync } from 'node:fs';

import { pino } from 'pino';

import { parseSupervisorConfig } from '../../src/supervisor/config.js';
import { startSupervisor } from '../../src/compose/supervisor-root.js';

const config = parseSupervisorConfig(JSON.parse(readFileSync(process.argv[2]!, 'utf8')));
const crashAt = process.env.GL_CRASH_AT;
const sup = await startSupervisor(config, {
  logger: pino({ level: 'info' }),
  checkpoint: (point, claim) => {
    if (point === crashAt) {
      process.stdout.write(`${JSON.stringify({ msg: 'crash-entry: SIGKILL', point, gridJobId: claim.gridJobId })}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  },
});
process.on('SIGTERM', () => {
  void sup.stop().then(() => process.exit(0));
});
