// supervisor-entry.ts - runs inside a mount namespace whose nsswitch.conf is
// "files gridlink" (test/userdb/supervisor-jobs.test.ts): the whole grid
// (anvil, contracts, oracle, sbatch service, a 2-node cluster with the plugins
// and their embedded relays) and the supervisor with users.resolver
// "gridlink": customers' jobs claimed on chain run as users it hands out,
// the embedded relays pull the users database (users_url) and report it, the
// SPANK prolog makes the homes (home_root). Prints one JSON line.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { pino } from 'pino';

import { freePort } from '../../harness/cluster/ports.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { startGrid, startGridSupervisor } from '../supervisor/grid.js';

const [work, homeRoot] = process.argv.slice(2) as [string, string];
const syncPort = await freePort();
const relayDb = join(work, 'relay-copy', 'users.cdb'); // the relays' copy: the module reads the supervisor's own on this single host
const grid = await startGrid({ users: 'none', customers: 3, pluginOptions: [`home_root=${homeRoot}`, `users_url=http://127.0.0.1:${syncPort}`, `users_db=${relayDb}`] });
const out: Record<string, unknown> = {};
try {
  const logs: string[] = [];
  const sup = await startGridSupervisor(
    grid,
    (c) => {
      c.users = { resolver: 'gridlink', gridlink: { homeRoot, sync: { listen: { host: '127.0.0.1', port: syncPort }, hosts: [hostname()], waitMs: 60_000 } } };
    },
    60_000,
    pino({ level: 'info' }, { write: (s: string) => void logs.push(s) }),
  );
  try {
    const script = '#!/bin/sh\necho "uid=$(id -u) user=$(id -un) group=$(id -gn) home=$HOME mode=$(stat -c %a "$HOME") owner=$(stat -c %u "$HOME")"\n';
    const ids = await Promise.all([0, 1, 2].map((i) => grid.requestJob({ customer: i, script })));
    out.jobs = await Promise.all(
      ids.map(async (id, i) => {
        const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 240_000);
        const name = grid.customers[i]!.account.address.toLowerCase();
        const slurmJob = (await sup.backend.list()).find((j) => j.name === id.toLowerCase());
        let output = '';
        try {
          output = slurmJob ? readFileSync(join(homeRoot, name, `slurm-${slurmJob.jobId}.out`), 'utf8') : 'no SLURM job';
        } catch (err) {
          output = `no output: ${(err as Error).message}`;
        }
        return { name, status: JobStatus[done.status], output, lastError: done.lastError };
      }),
    );
    out.relayCopy = (() => {
      try {
        return readFileSync(relayDb).length;
      } catch {
        return 0;
      }
    })();
    out.logTail = logs.filter((l) => /error|warn/i.test(l)).slice(-10);
  } finally {
    await sup.stop();
  }
} finally {
  await grid.stop();
}
process.stdout.write(`\nGLRESULT ${JSON.stringify(out)}\n`);
process.exit(0);
