// Which hosts need gridlink's users database where SLURM's own nss_slurm
// serves the job steps (LaunchParameters=enable_nss_slurm), on Debian's SLURM
// (22.05; its nss_slurm built from Debian's source, scripts/build-nss-slurm.sh)
// and on the upstream release of the version matrix (25.11), and what 25.11
// needs without it (docs/nss-gridlink.md, "Which hosts need it"). Real
// slurmctld, two slurmd and sbatch (test/userdb/slurm-entry.ts); the
// controller and the submit host hold the database, the slurmds do not.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { MATRIX_VERSIONS } from '../plugins/with-plugins.js';
import { runEntry, type Seen } from './slurm-run.js';

// GRIDLINK_NSS_SLURM_VERSIONS=24.11.5,... measures other releases (built by scripts/build-slurm.sh) by hand
const picked = process.env.GRIDLINK_NSS_SLURM_VERSIONS?.split(',').filter(Boolean);
const withNssSlurm = picked ?? ['system', ...MATRIX_VERSIONS];
const upstream = picked?.filter((v) => v !== 'system') ?? [...MATRIX_VERSIONS];
const addr = '0x0000000000000000000000000000000c0ffee000';
const uid = 400_000; // slurm-entry's first customer

async function inTmp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const d = mkdtempSync(join(tmpdir(), 'gl-nss-slurm-'));
  try {
    return await fn(d);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
}

/** The customer's job ran on both nodes as itself, with its name, group and a home the prolog made 0700. */
function expectJobAsCustomer(seen: Seen, home: string): void {
  const j = seen.jobs[0]!;
  expect(j.state, `${j.output}\n${seen.slurmdLog.join('\n')}`).toBe('COMPLETED');
  expect(j.userId).toBe(`${addr}(${uid})`);
  const lines = j.output.trim().split('\n').sort();
  expect(new Set(lines.map((l) => l.split(' ')[1]))).toEqual(new Set(seen.nodes));
  for (const l of lines) expect(l).toContain(`uid=${uid} user=${addr} gid=${uid} group=${addr} home=${home} mode=700 owner=${uid}`);
  const st = statSync(home);
  expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, uid, uid]);
}

describe.each(withNssSlurm)('SLURM %s with nss_slurm on the nodes', (version) => {
  it('the nodes need no users database: the job resolves its user through slurmstepd, the prolog makes the home from the credential', async () => {
    await inTmp(async (d) => {
      const homes = join(d, 'home');
      const seen = await runEntry(d, homes, 1, 'slurmd-nss_slurm', version);
      expectJobAsCustomer(seen, join(homes, addr));
      // the node's own NSS does not know the uid: the home's name is the one slurmctld put in the credential
      expect(seen.slurmdLog.join('\n')).toContain(`made ${join(homes, addr)} (0700, uid ${uid})`);
      expect(seen.outsideHome?.output).toBe(`uid=${uid} name=${addr} getent=${addr}\n`);
      // the submit host still needs it: sbatch --uid of a uid it does not know is refused
      expect(seen.unknownUid.code).not.toBe(0);
    });
  }, 1_200_000);
});

// Without nss_slurm, on 25.11 (22.05: test/userdb/slurm-jobs.test.ts).
describe.each(upstream)('SLURM %s without nss_slurm', (version) => {
  it('the controller needs it: without it the job is held, never started (its credential carries the user\'s identity)', async () => {
    await inTmp(async (d) => {
      const seen = await runEntry(d, join(d, 'home'), 1, 'slurmctld', version);
      expect(seen.jobs[0]!.state).toMatch(/not ended.*PENDING reason=JobHeldAdmin/s);
      expect(seen.jobs[0]!.state).toMatch(/slurm_cred_create: fetch_identity\(\) failed/);
    });
  }, 1_200_000);

  it('a node needs it for the job\'s own lookups; the prolog makes the home from the credential\'s name', async () => {
    await inTmp(async (d) => {
      const homes = join(d, 'home');
      const seen = await runEntry(d, homes, 1, 'slurmd', version);
      expect(seen.jobs[0]!.state).toBe('COMPLETED'); // its output file is in the home the prolog made
      expect(seen.slurmdLog.join('\n')).toContain(`made ${join(homes, addr)} (0700, uid ${uid})`);
      expect(seen.jobs[0]!.output).toContain(`uid=${uid} user=${uid} gid=${uid} group=${uid} home= `); // no name, no passwd entry
      expect(seen.outsideHome?.output).toMatch(new RegExp(`^uid=${uid} name=id: cannot find name for user ID ${uid}\\n${uid} getent=$`, 'm'));
    });
  }, 1_200_000);
});
