// Resolver "gridlink" with real SLURM: slurmctld, two slurmd and sbatch in a
// mount namespace whose nsswitch.conf is "passwd: files gridlink" (this host's
// own NSS is not changed) and whose users database is written by the
// supervisor's store and publisher. Three customers' jobs run on both nodes
// under their own uids, in homes the SPANK prolog made 0700; a uid the
// database does not hold is refused at submission. Cluster lane (a cluster,
// mounts, /var/lib/gridlink/nss).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { runEntry } from './slurm-run.js';

const work = mkdtempSync(join(tmpdir(), 'gl-nss-slurm-'));
const homeRoot = join(work, 'home');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('jobs of customers of resolver "gridlink" on real SLURM', () => {
  it('run on both nodes under their own uids and groups, in homes the prolog made 0700; unknown uids are refused', async () => {
    const seen = await runEntry(work, homeRoot, 3);

    expect(seen.jobs).toHaveLength(3);
    for (const j of seen.jobs) {
      expect(j.state, `${j.name}: ${j.output}\n${seen.slurmdLog.join('\n')}`).toBe('COMPLETED');
      expect(j.userId).toBe(`${j.name}(${j.uid})`); // slurmctld resolved the uid to the customer's name
      const lines = j.output.trim().split('\n').sort();
      expect(lines).toHaveLength(2); // one line per node
      expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(seen.nodes));
      for (const l of lines) expect(l).toContain(`uid=${j.uid} user=${j.name} gid=${j.uid} group=${j.name} home=${homeRoot}/${j.name} mode=700 owner=${j.uid}`);
      const st = statSync(join(homeRoot, j.name));
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, j.uid, j.uid]);
    }
    expect(readdirSync(homeRoot).sort()).toEqual(seen.jobs.map((j) => j.name).sort());
    // the module is loaded in the daemons that resolved the customers, and small there (kB resident)
    const { 'slurmstepd (batch step)': stepd, ...daemons } = seen.memory;
    for (const [daemon, m] of Object.entries(daemons)) {
      expect(m?.nss_gridlink, daemon).toBeGreaterThan(0);
      expect(m!.nss_gridlink! + m!.libcdb! + m!['users.cdb']!, daemon).toBeLessThan(256);
    }
    // a step's slurmstepd never loads it: it takes the user from the job's credential (the job's own processes do)
    expect(stepd?.total).toBeGreaterThan(0);
    expect(stepd?.nss_gridlink).toBe(0);
    expect(seen.unknownUid.code).not.toBe(0);
    expect(seen.unknownUid.stderr).toMatch(/invalid user id|user id|uid/i);
    expect(seen.hostileName.code).not.toBe(0);
  }, 1_200_000);

  // Which hosts need the users database (SLURM 22.05; docs/nss-gridlink.md): one daemon at a time in a
  // namespace whose nsswitch.conf has no gridlink, the submit host (sbatch) keeping it.
  it('the controller needs it: without it the job is never started (its credential needs the user\'s groups)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'gl-nss-ctld-'));
    try {
      const seen = await runEntry(d, join(d, 'home'), 1, 'slurmctld');
      expect(seen.jobs[0]!.state).toMatch(/not ended.*PENDING/s);
      expect(seen.jobs[0]!.state).toMatch(/_fill_cred_gids: getpwuid failed for uid=400000/);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 1_200_000);

  it('a node needs it for the job\'s own lookups: without it the job runs as the bare uid, no name; the prolog makes the home from the credential\'s name', async () => {
    const d = mkdtempSync(join(tmpdir(), 'gl-nss-node-'));
    try {
      const homes = join(d, 'home');
      const seen = await runEntry(d, homes, 1, 'slurmd');
      const name = seen.jobs[0]!.name;
      expect(seen.jobs[0]!.state).toBe('COMPLETED'); // its output file is in the home the prolog made
      expect(seen.slurmdLog.join('\n')).toContain(`made ${join(homes, name)} (0700, uid 400000)`);
      expect(seen.jobs[0]!.output).toContain('uid=400000 user=400000 gid=400000 group=400000 home= '); // no name, no passwd entry
      expect(seen.outsideHome?.state).toBe('COMPLETED');
      expect(seen.outsideHome?.output).toMatch(/^uid=400000 name=id: cannot find name for user ID 400000\n400000 getent=$/m);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 1_200_000);
});
