// slurm-entry.ts - runs inside a mount namespace whose /etc/nsswitch.conf
// says "passwd: files gridlink" and whose /var/lib/gridlink/nss is the test's
// (test/userdb/slurm-jobs.test.ts): a real 2-node cluster (slurmctld, two
// slurmd, the SPANK plugin with home_root), customers handed uids by the
// supervisor's store and written by its publisher, jobs submitted with
// sbatch --uid as root does. Prints one JSON line of what it saw.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { openUserDb as openDb } from './state-db.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { startPluginCluster } from '../plugins/with-plugins.js';

// without: 'slurmd' or 'slurmctld' runs in a namespace of its own whose nsswitch.conf is "files" only
// (that host does not have the users database), to measure which hosts need it.
const [work, homeRoot, countArg, without = ''] = process.argv.slice(2) as [string, string, string, string?];
const plain = join(work, 'nsswitch-plain.conf');
writeFileSync(plain, 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n');
const wrapper = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${plain} /etc/nsswitch.conf && exec "$@"`, 'sh'];
const customers = Number(countArg);
const addr = (i: number) => `0x${(0xc0ffee000 + i).toString(16).padStart(40, '0')}`;

/** kB resident of libnss_gridlink.so.2, libcdb.so.1 and the users database mapped in `pid`, and its whole RSS. */
function moduleRss(pid: number): Record<string, number> {
  const out: Record<string, number> = { nss_gridlink: 0, libcdb: 0, 'users.cdb': 0, total: 0 };
  let current = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const f = m[1] ?? '';
      current = f.endsWith('libnss_gridlink.so.2') ? 'nss_gridlink' : /libcdb\.so/.test(f) ? 'libcdb' : f.endsWith('users.cdb') ? 'users.cdb' : '';
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) {
      out.total! += Number(r[1]);
      if (current) out[current]! += Number(r[1]);
    }
  }
  return out;
}

const store = new UserStore(openDb(join(work, 'state.db')), { firstUid: 400_000, maxUid: 500_000, homeRoot });
const publisher = new UsersDbPublisher({ store, path: '/var/lib/gridlink/nss/users.cdb', minUid: 1000, shell: '/bin/sh' });
await publisher.start();
const users = Array.from({ length: customers }, (_, i) => store.ensure(addr(i)));
await publisher.publish();

const pc = await startPluginCluster({
  nodes: 2,
  spankOptions: [`home_root=${homeRoot}`],
  removeOnStop: true,
  gpusPerNode: 0,
  lockWaitMs: 900_000,
  ...(without === 'slurmd' ? { slurmdWrapper: wrapper } : {}),
  ...(without === 'slurmctld' ? { ctldWrapper: wrapper } : {}),
});
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
      const info = await c.waitJob(id, { timeoutMs: without ? 30_000 : 120_000 }).catch((err: Error) => ({ state: `not ended: ${err.message}` }));
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
  if (without) {
    // the same customer's job writing outside its home: does the host without the database run it, and as whom?
    const u = users[0]!;
    const outFile = join('/tmp', `${work.split('/').pop()}-job-%j.out`); // /tmp: sticky, writable by the customer
    const id = await c.sbatch([`--uid=${u.uid}`, `--gid=${u.gid}`, '--chdir=/tmp', `--output=${outFile}`], '#!/bin/sh\necho "uid=$(id -u) name=$(id -un 2>&1) getent=$(getent passwd $(id -u) | cut -d: -f1)"');
    const info = await c.waitJob(id, { timeoutMs: without ? 30_000 : 120_000 }).catch((err: Error) => ({ state: `not ended: ${err.message}` }));
    let output = '';
    try {
      output = readFileSync(outFile.replace('%j', String(id)), 'utf8');
    } catch (err) {
      output = `no output: ${(err as Error).message}`;
    }
    out.outsideHome = { state: info.state, output };
    rmSync(outFile.replace('%j', String(id)), { force: true });
  }
  // A uid the users database does not hold: refused at submission, never run as a number.
  const unknown = await c.run('sbatch', ['--parsable', '--uid=499999', '--gid=499999', '--wrap=id'], { allowFail: true });
  out.unknownUid = { code: unknown.code, stderr: unknown.stderr.trim() };
  const hostile = await c.run('sbatch', ['--parsable', '--uid=ROOT', '--wrap=id'], { allowFail: true });
  out.hostileName = { code: hostile.code, stderr: hostile.stderr.trim() };
  // What the module adds to the daemons that resolved customers: its mappings' resident memory (smaps).
  out.memory = Object.fromEntries(
    [['slurmctld', c.ctldPid()], ...c.nodeNames.map((n) => [`slurmd ${n}`, c.slurmdPid(n)])].map(([name, pid]) => [name, pid ? moduleRss(Number(pid)) : undefined]),
  );
  out.slurmdLog = (await pc.slurmdLog()).split('\n').filter((l) => /spank\/provider|error/.test(l)).slice(-20);
  out.ctldLog = (await pc.ctldLog()).split('\n').filter((l) => /error|uid|user/i.test(l)).slice(-20);
} finally {
  await c.stop();
}
process.stdout.write(`\nGLRESULT ${JSON.stringify(out)}\n`);
process.exit(0);
