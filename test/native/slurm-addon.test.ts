// slurm-addon.test.ts - the addon's SLURM module (gridlink_slurm.so) is apart
// from gridlink.node: the spool and munge addon links no libslurm; a missing
// SLURM module, or one built against a libslurm this host does not have,
// fails with an error saying what to install or rebuild; the built one
// serves the installed SLURM's release.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { addonPath } from '../../src/native/addon.js';
import { loadSlurmAddon, slurmAddonPath } from '../../src/native/slurm-addon.js';

const work = mkdtempSync(join(tmpdir(), 'gl-slurm-addon-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
afterEach(() => {
  delete process.env.GRIDLINK_SLURM_ADDON;
});

function cc(args: string[]): void {
  const r = spawnSync('gcc', args, { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}

describe('the SLURM module of the addon', () => {
  it('is a file of its own beside gridlink.node, which links no libslurm', () => {
    expect(slurmAddonPath()).toBe(join(dirname(addonPath()), 'gridlink_slurm.so'));
    const ldd = (f: string): string => spawnSync('ldd', [f], { encoding: 'utf8' }).stdout;
    expect(ldd(addonPath())).not.toMatch(/libslurm/);
    expect(ldd(addonPath())).toMatch(/libmunge/);
    expect(ldd(slurmAddonPath())).toMatch(/libslurm\.so\.\d+ => \//);
  });

  it('missing: says how to build it, and that the spool does not need it', () => {
    process.env.GRIDLINK_SLURM_ADDON = join(work, 'absent', 'gridlink_slurm.so');
    expect(() => loadSlurmAddon()).toThrow(/SLURM module is missing .*install libslurm-dev of the SLURM release you run .*npm rebuild gridlink.*spool, relay and munge work without it/);
  });

  it('built against another libslurm: names it and what to install or rebuild', () => {
    // a module linking libslurm.so.99, whose library is then gone (another SLURM release's soname)
    const stub = join(work, 'libslurm.so.99');
    writeFileSync(join(work, 'stub.c'), 'int slurm_stub(void) { return 0; }\n');
    writeFileSync(join(work, 'mod.c'), 'extern int slurm_stub(void);\nint gl_mod(void) { return slurm_stub(); }\n');
    cc(['-shared', '-fPIC', '-Wl,-soname,libslurm.so.99', '-o', stub, join(work, 'stub.c')]);
    const mod = join(work, 'gridlink_slurm.so');
    cc(['-shared', '-fPIC', '-o', mod, join(work, 'mod.c'), stub]);
    rmSync(stub);
    process.env.GRIDLINK_SLURM_ADDON = mod;
    expect(() => loadSlurmAddon()).toThrow(/does not load: it was built for the SLURM release whose library is libslurm\.so\.99, which this host does not have\. Install libslurm of your SLURM version, or install libslurm-dev/);
  });

  it.skipIf(!existsSync('/usr/include/slurm/slurm_version.h'))('the built one loads and serves the installed SLURM release', () => {
    const hex = Number(/#define SLURM_VERSION_NUMBER\s+(0x[0-9a-fA-F]+)/.exec(readFileSync('/usr/include/slurm/slurm_version.h', 'utf8'))![1]);
    const installed = `${(hex >> 16) & 255}.${String((hex >> 8) & 255).padStart(2, '0')}.${hex & 255}`;
    const slurm = loadSlurmAddon();
    expect(slurm.slurmVersion).toBe(installed);
    for (const f of ['slurmSubmit', 'slurmCancel', 'slurmSetTimeLimit', 'slurmLoadJobs', 'slurmLoadPartition'] as const) expect(typeof slurm[f]).toBe('function');
  });
});
