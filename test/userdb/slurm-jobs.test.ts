// Resolver "gridlink" with real SLURM: slurmctld, two slurmd and sbatch in a
// mount namespace whose nsswitch.conf is "passwd: files gridlink" (this host's
// own NSS is not changed) and whose users database is written by the
// supervisor's store and publisher. Three customers' jobs run on both nodes
// under their own uids, in homes the SPANK prolog made 0700; a uid the
// database does not hold is refused at submission. Cluster lane (a cluster,
// mounts, /var/lib/gridlink/nss).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildNss, inNssNamespace, writeNsswitch } from './nss-harness.js';

const work = mkdtempSync(join(tmpdir(), 'gl-nss-slurm-'));
const homeRoot = join(work, 'home');
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Seen {
  nodes: string[];
  jobs: Array<{ name: string; uid: number; id: number; state: string; output: string; userId: string }>;
  unknownUid: { code: number; stderr: string };
  hostileName: { code: number; stderr: string };
  slurmdLog: string[];
}

describe('jobs of customers of resolver "gridlink" on real SLURM', () => {
  it('run on both nodes under their own uids and groups, in homes the prolog made 0700; unknown uids are refused', async () => {
    buildNss();
    chmodSync(work, 0o755); // the customers' jobs traverse it to their homes
    execFileSync('mkdir', ['-m', '0755', homeRoot, join(work, 'db')]);
    const nsswitch = writeNsswitch(work, 'files gridlink');
    const [cmd, ...args] = inNssNamespace(nsswitch, join(work, 'db'), [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'slurm-entry.ts'), work, homeRoot, '3']);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(0);
    const result = stdout.split('\n').find((l) => l.startsWith('GLRESULT '));
    expect(result, stdout.slice(-3000)).toBeDefined();
    const seen = JSON.parse(result!.slice('GLRESULT '.length)) as Seen;

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
    expect(seen.unknownUid.code).not.toBe(0);
    expect(seen.unknownUid.stderr).toMatch(/invalid user id|user id|uid/i);
    expect(seen.hostileName.code).not.toBe(0);
  }, 1_200_000);
});
