// Resolver "gridlink" end to end: the grid (anvil, contracts, oracle, sbatch
// service, a 2-node cluster with the plugins and their embedded relays) and
// the supervisor, in a mount namespace whose nsswitch.conf is "files gridlink"
// (this host's own NSS is not changed). Three customers' jobs, claimed on
// chain, run under the uids the supervisor handed out, in homes the SPANK
// prolog made 0700; each is submitted only once this host's relays (embedded
// in slurmctld and slurmd, users_url) report a users database holding it.
// Cluster lane.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { buildNss, inNssNamespace, writeNsswitch } from '../../harness/nss/namespace.js';

const work = mkdtempSync(join(tmpdir(), 'gl-nss-grid-'));
const homeRoot = join(work, 'home');
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Seen {
  jobs: Array<{ name: string; status: string; output: string; lastError: string }>;
  relayCopy: number;
  logTail: string[];
}

describe('the supervisor with users.resolver "gridlink" on the grid', () => {
  it('runs three customers\' jobs under their own uids, in 0700 homes, once the relays hold them', async () => {
    buildNss();
    chmodSync(work, 0o755);
    execFileSync('mkdir', ['-m', '0755', homeRoot, join(work, 'db')]);
    const nsswitch = writeNsswitch(work, 'files gridlink');
    const [cmd, ...args] = inNssNamespace(nsswitch, join(work, 'db'), [process.execPath, '--import', 'tsx', join(import.meta.dirname, 'supervisor-entry.ts'), work, homeRoot]);
    const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    const line = stdout.split('\n').find((l) => l.startsWith('GLRESULT '));
    expect(line, stdout.slice(-3000)).toBeDefined();
    const seen = JSON.parse(line!.slice('GLRESULT '.length)) as Seen;
    expect(seen.jobs).toHaveLength(3);
    const uids = new Set<number>();
    for (const j of seen.jobs) {
      expect(j.status, `${j.name}: ${j.lastError}\n${j.output}\n${seen.logTail.join('')}`).toBe('FINISHED');
      const st = statSync(join(homeRoot, j.name));
      expect(st.mode & 0o7777).toBe(0o700);
      expect(st.uid).toBeGreaterThanOrEqual(200_000); // users.gridlink.firstUid
      uids.add(st.uid);
      expect(j.output.trim()).toBe(`uid=${st.uid} user=${j.name} group=${j.name} home=${homeRoot}/${j.name} mode=700 owner=${st.uid}`);
    }
    expect(uids.size).toBe(3);
    expect(seen.relayCopy).toBeGreaterThan(2048); // the embedded relays' copy of the users database
  }, 900_000);
});
