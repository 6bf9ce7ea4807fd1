// slurm-entry.ts - runs inside a mount namespace whose /etc/nsswitch.conf
// says "passwd: files gridlink" and whose /var/lib/gridlink/nss is the test's
// (test/userdb/slurm-jobs.test.ts): a real 2-node cluster (slurmctld, two
// slurmd, the SPANK plugin with home_root), customers handed uids by the
// supervisor's store and written by its publisher, jobs submitted with
// sbatch --uid as root does. Prints one JSON line of what it saw.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { openUserDb as openDb } from './state-db.js';
import { UsersDbPublisher } from '../../src/userdb/publisher.js';
import { UserStore } from '../../src/userdb/store.js';
import { packageRoot } from '../../src/native/index.js';
import { prepare } from '../helpers/prepare.js';
import { matrixSlurm, prepareSlurm, startPluginCluster, systemSlurm, waitFor } from '../plugins/with-plugins.js';

// without: 'slurmd' or 'slurmctld' runs in a namespace of its own whose nsswitch.conf is "files" only
// (that host does not have the users database), to measure which hosts need it; 'slurmd-nss_slurm':
// the slurmds' namespace asks SLURM's own nss_slurm instead ("slurm files", LaunchParameters=enable_nss_slurm:
// slurmstepd answers the job's lookups from what slurmctld put in the credential).
// version: 'system' (Debian's SLURM) or a matrix release (test/plugins/with-plugins.ts).
const [work, homeRoot, countArg, without = '', version = 'system'] = process.argv.slice(2) as [string, string, string, string?, string?];
const slurm = version === 'system' ? systemSlurm : matrixSlurm(version);
await prepareSlurm(slurm);
const plain = join(work, 'nsswitch-plain.conf');
writeFileSync(plain, 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n');
const wrapper = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `mount --bind ${plain} /etc/nsswitch.conf && exec "$@"`, 'sh'];
if (without === 'slurmd-nss_slurm' && !slurm.prefix) await prepare('nss-slurm');
const nssSlurm = without === 'slurmd-nss_slurm' ? nssSlurmWrapper() : undefined;

/**
 * A slurmd namespace whose NSS is "slurm files": libnss_slurm.so.2 found through a namespace
 * ld.so.cache (slurmstepd's environment has no LD_LIBRARY_PATH) and /etc/nss_slurm.conf (an
 * overlay over /etc in the namespace only) naming the slurmds' spool (SlurmdSpoolDir, %n = the
 * job's SLURMD_NODENAME), which the module reads to find the job's slurmstepd.
 */
function nssSlurmWrapper(): string[] {
  // upstream releases install it (scripts/build-slurm.sh); Debian's is built from Debian's source (prepare-tests nss-slurm)
  const lib = slurm.prefix ? join(slurm.prefix, 'lib') : execFileSync('bash', [join(packageRoot, 'scripts/build-nss-slurm.sh')], { encoding: 'utf8' }).trim();
  if (!existsSync(join(lib, 'libnss_slurm.so.2'))) throw new Error(`no libnss_slurm.so.2 for SLURM ${slurm.version} in ${lib}`);
  const etc = join(work, 'etc-nss-slurm');
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(work, 'nsswitch-slurm.conf'), 'passwd: slurm files\ngroup: slurm files\nshadow: files\nhosts: files\n');
  writeFileSync(join(work, 'ld-nss-slurm.conf'), `include /etc/ld.so.conf.d/*.conf\n${lib}\n`);
  execFileSync('ldconfig', ['-X', '-C', join(work, 'ld-nss-slurm.cache'), '-f', join(work, 'ld-nss-slurm.conf')]);
  const script = [
    'for a; do [ "$prev" = -f ] && conf=$a; prev=$a; done',
    `grep '^SlurmdSpoolDir=' "$conf" > ${etc}/.nss_slurm.conf.$$ && mv -f ${etc}/.nss_slurm.conf.$$ ${etc}/nss_slurm.conf`,
    `mount -t overlay overlay -o ro,lowerdir=${etc}:/etc /etc`,
    `mount --bind ${work}/ld-nss-slurm.cache /etc/ld.so.cache`,
    `mount --bind ${work}/nsswitch-slurm.conf /etc/nsswitch.conf`,
    'exec "$@"',
  ].join(' && ');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh'];
}
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
  slurm,
  nodes: 2,
  spankOptions: [`home_root=${homeRoot}`],
  removeOnStop: true,
  gpusPerNode: 0,
  lockWaitMs: 900_000,
  ...(without === 'slurmd' ? { slurmdWrapper: wrapper } : {}),
  ...(without === 'slurmctld' ? { ctldWrapper: wrapper } : {}),
  ...(nssSlurm ? { slurmdWrapper: nssSlurm, extraLines: ['LaunchParameters=enable_nss_slurm'] } : {}),
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
  if (!without) {
    // and to slurmstepd, while a customer's step runs: the batch step's slurmstepd and the job's own process
    // both resolve the user (the step looks it up at launch; the job runs `id`) before we read them
    const u = users[0]!;
    const id = await c.sbatch([`--uid=${u.uid}`, `--gid=${u.gid}`, `--chdir=${u.home}`, `--output=${u.home}/stepd-%j.out`], '#!/bin/sh\nid >/dev/null\nsleep 30');
    const stepd = await waitFor('the batch step\'s slurmstepd', () => {
      try {
        return Number(execFileSync('pgrep', ['-f', `^slurmstepd: \\[${id}\\.batch\\]`], { encoding: 'utf8' }).trim().split('\n')[0]) || undefined;
      } catch {
        return undefined; // pgrep: none yet
      }
    }, 30_000).catch(() => undefined);
    if (stepd) {
      await new Promise((r) => setTimeout(r, 1000)); // the step's own lookups done
      (out.memory as Record<string, unknown>)['slurmstepd (batch step)'] = moduleRss(stepd);
    }
    await c.run('scancel', [String(id)], { allowFail: true });
  }
  out.slurmdLog = (await pc.slurmdLog()).split('\n').filter((l) => /spank\/provider|error/.test(l)).slice(-20);
  out.ctldLog = (await pc.ctldLog()).split('\n').filter((l) => /error|uid|user/i.test(l)).slice(-20);
} finally {
  await c.stop();
}
process.stdout.write(`\nGLRESULT ${JSON.stringify(out)}\n`);
process.exit(0);
