import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkSpools, modeAllowsWrite, realProbe, type SpoolProbe } from '../../src/doctor/spool.js';
import { ctxOf, slurmFiles, tmp } from './helpers.js';

describe('spool check', () => {
  it('compares mode bits for a non-root daemon user', () => {
    const slurm = { uid: 64030, gids: [64030] };
    expect(modeAllowsWrite({ uid: 64030, gid: 0, mode: 0o40700 }, slurm)).toBe(true);
    expect(modeAllowsWrite({ uid: 0, gid: 0, mode: 0o40755 }, slurm)).toBe(false);
    expect(modeAllowsWrite({ uid: 0, gid: 64030, mode: 0o40770 }, slurm)).toBe(true);
    expect(modeAllowsWrite({ uid: 0, gid: 0, mode: 0o40000 }, { uid: 0, gids: [0] })).toBe(true);
  });

  it('passes on writable spools and fails one that is not a directory', () => {
    const dir = tmp();
    const conf = slurmFiles(dir);
    mkdirSync(join(dir, 'spool', 'slurmctld'), { recursive: true });
    mkdirSync(join(dir, 'spool', 'slurmd'), { recursive: true });
    expect(checkSpools(ctxOf({ slurmConf: conf }))).toMatchObject({ status: 'ok' });
    const conf2 = slurmFiles(dir, { jobcomp: `spool=${join(dir, 'file')}` });
    writeFileSync(join(dir, 'file'), 'x');
    const r = checkSpools(ctxOf({ slurmConf: conf2 }));
    expect(r.status).toBe('fail');
    expect(r.detail).toBe(`slurmctld spool ${join(dir, 'file')} is not a directory`);
  });

  it('a read-only filesystem fails even for root (the probe)', () => {
    const dir = tmp();
    const conf = slurmFiles(dir);
    const io: SpoolProbe = {
      ...realProbe,
      lstat: () => ({ uid: 0, gid: 0, mode: 0o40700, isDirectory: () => true }),
      userIds: () => ({ uid: 0, gids: [0] }),
      probe: (d) => {
        if (d.endsWith('slurmd')) throw Object.assign(new Error('EROFS'), { code: 'EROFS' });
      },
    };
    const r = checkSpools(ctxOf({ slurmConf: conf }), io);
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/^slurmd spool .*slurmd is on a read-only filesystem$/);
    expect(r.fix).toMatch(/remount/);
  });

  it('a directory the daemon user cannot write fails with chown/chmod', () => {
    const dir = tmp();
    const conf = slurmFiles(dir, { slurmUser: 'slurm' });
    mkdirSync(join(dir, 'spool', 'slurmctld'), { recursive: true });
    chmodSync(join(dir, 'spool', 'slurmctld'), 0o755);
    const r = checkSpools(ctxOf({ slurmConf: conf }), { ...realProbe, userIds: (u) => (u === 'slurm' ? { uid: 64030, gids: [64030] } : { uid: 0, gids: [0] }) });
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/slurmctld spool .* \(owner uid \d+, mode 0755\) is not writable by slurm/);
    expect(r.fix).toMatch(/chown slurm .* && chmod 700/);
  });
});
