// slurm-entry.ts - runs inside a mount namespace whose /etc/nsswitch.conf
// says "passwd: files gridlink" and whose /var/lib/gridlink/nss is the test's
// (test/userdb/slurm-jobs.test.ts): a real 2-node cluster (slurmctld, two
// slurmd, the SPANK plugin with home_root), customers handed uids by the
// supervisor's store and written by its publisher, jobs submitted with
// sbatch --uid as root does. Prints one JSON line of what it saw.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { openUserDb as openDb } from './state-db.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { startPluginCluster } from '../plugins/with-plugins.js';

const [work, homeRoot, countArg] = process.argv.slice(2) as [string, string, string];
const customers = Number(countArg);
const addr = (i: number) => `0x${(0xc0ffee000 + i).toString(16).padStart(40, '0')}`;

const store = new UserStore(openDb(join(work, 'state.db')), { firstUid: 400_000, maxUid: 500_000, homeRoot });
const publisher = new UsersDbPublisher({ store, path: '/var/lib/gridlink/nss/users.cdb', minUid: 1000, shell: '/bin/sh' });
await publisher.start();
const users = Array.from({ length: customers }, (_, i) => store.ensure(addr(i)));
await publisher.publish();

const pc = await startPluginCluster({ nodes: 2, spankOptions: [`home_root=${homeRoot}`], removeOnStop: true, gpusPerNode: 0, lockWaitMs: 900_000 });
const c = pc.cluster;
const out: Record<string, unknown> = { nodes: c.nodeNames };
try {
  // One job per customer, on both nodes (srun -N2), each writing who it runs as.
  const script = [
    '#!/bin/sh',
    // the home as NSS on the node says (getent: the module), not $HOME (sbatch --uid exports the submitter's)
    'srun -N2 sh -c \'h=$(getent passwd "$(id -u)" | cut -d: -f6); echo "$(hostname) $SLURMD_NODENAME uid=$(id -u) user=$(id -un) gid=$(id -g) group=$(id -gn) home=$h mode=$(stat -c %a "$h") owner=$(stat -c %u "$h")"\'',
  ].join('\n');
  const jobs = await Promise.all(
    users.map((u) => c.sbatch(['-N2', `--uid=${u.uid}`, `--gid=${u.gid}`, `--chdir=${u.home}`, `--output=${u.home}/slurm-%j.out`], script).then((id) => ({ u, id }))),
  );
  out.jobs = await Promise.all(
    jobs.map(async ({ u, id }) => {
      const info = await c.waitJob(id, { timeoutMs: 120_000 });
      let output = '';
      try {
        output = readFileSync(join(u.home, `slurm-${id}.out`), 'utf8');
      } catch (err) {
        output = `no output: ${(err as Error).message}`;
      }
      const show = await c.run('scontrol', ['show', 'job', String(id)], { allowFail: true });
      return { name: u.name, uid: u.uid, id, state: info.state, output, userId: /UserId=(\S+)/.exec(show.stdout)?.[1] ?? '' };
    }),
  );
  // A uid the users database does not hold: refused at submission, never run as a number.
  const unknown = await c.run('sbatch', ['--parsable', '--uid=499999', '--gid=499999', '--wrap=id'], { allowFail: true });
  out.unknownUid = { code: unknown.code, stderr: unknown.stderr.trim() };
  const hostile = await c.run('sbatch', ['--parsable', '--uid=ROOT', '--wrap=id'], { allowFail: true });
  out.hostileName = { code: hostile.code, stderr: hostile.stderr.trim() };
  out.slurmdLog = (await pc.slurmdLog()).split('\n').filter((l) => /spank\/provider/.test(l)).slice(-20);
} finally {
  await c.stop();
}
process.stdout.write(`\nGLRESULT ${JSON.stringify(out)}\n`);
process.exit(0);
