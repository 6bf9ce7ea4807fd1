// A plugin built for one SLURM release and installed beside another is caught
// before a daemon restarts with it (`gridlink plugins check`), and a build
// against a source of another version stops with a message that names the
// versions found and what to pass (CMakeLists.txt).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync as mkdtemp, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { formatSlurmVersion, pluginFits, readPluginInfo } from '../../src/cli/plugins.js';
import { packageRoot } from '../../src/native/index.js';
import { matrixSlurm, prepareSlurm, slurmTarballs, systemSlurm } from '../plugins/with-plugins.js';
import { skipReason } from '../helpers/skip-reason.js';
import { PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

const s24 = matrixSlurm('24.11.5');
const s25 = matrixSlurm('25.11.7');
const built = (t: typeof s24) => existsSync(join(t.prefix!, 'sbin', 'slurmctld')) && existsSync(join(t.pluginDir, 'jobcomp_provider.so'));
const haveMatrix = existsSync(join(slurmTarballs, 'slurm-24.11.5.tar.xz')) && existsSync(join(slurmTarballs, 'slurm-25.11.7.tar.xz'));

const made: string[] = [];
const mkdtempSync = (prefix: string) => {
  const d = mkdtemp(prefix);
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function gridlink(args: string[]) {
  const r = spawnSync(process.execPath, [...cliEntry(), ...args], { encoding: 'utf8', cwd: packageRoot });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe('plugin files', () => {
  it('reads the version a plugin was built for from its plugin_version, as SLURM does', () => {
    const jc = readPluginInfo(join(systemSlurm.pluginDir, 'jobcomp_provider.so'));
    expect(jc.type).toBe('jobcomp/provider');
    expect(jc.version).toBe(systemSlurm.version);
    const sp = readPluginInfo(join(systemSlurm.pluginDir, 'spank_provider.so'));
    expect(sp.type).toBe('spank');
    expect(formatSlurmVersion(0x160508)).toBe('22.05.8');
    // SPANK: major.minor; everything else: major.minor.micro (src/common/plugin.c)
    expect(pluginFits({ ...sp, versionNumber: 0x180b05 }, 0x180b03)).toBe(true);
    expect(pluginFits({ ...jc, versionNumber: 0x180b05 }, 0x180b03)).toBe(false);
    expect(() => readPluginInfo('/etc/hostname')).toThrow(/not an ELF file/);
  });
});

describe.skipIf(!haveMatrix)(`gridlink plugins check${skipReason(haveMatrix, `the 24.11.5 and 25.11.7 tarballs are not in ${slurmTarballs}`)}`, () => {
  beforeAll(async () => {
    await prepareSlurm(s24);
    await prepareSlurm(s25);
  }, PREPARE_TIMEOUT_MS);
  it('catches a 22.05 build beside SLURM 24.11 and says what to rebuild', () => {
    expect(built(s24), 'run bash scripts/build-slurm-matrix.sh').toBe(true);
    const r = gridlink([
      'plugins', 'check', '--sbin', join(s24.prefix!, 'sbin'),
      '--plugin', join(systemSlurm.pluginDir, 'jobcomp_provider.so'), '--plugin', join(systemSlurm.pluginDir, 'spank_provider.so'),
    ]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('installed: slurmctld 24.11.5');
    expect(r.out).toMatch(/MISMATCH \S+\/build-plugins\/jobcomp_provider\.so \(jobcomp\/provider\) is built for SLURM 22\.05\.8 but slurmctld \(\S+\) is 24\.11\.5/);
    expect(r.out).toMatch(/MISMATCH \S+\/build-plugins\/spank_provider\.so \(spank\) is built for SLURM 22\.05\.8 but slurmd \(\S+\) is 24\.11\.5/);
    expect(r.out).toContain(`rebuild the plugins for SLURM 24.11.5: cmake -S <gridlink checkout> -B build-plugins -DSLURM_PREFIX=${s24.prefix}`);
    expect(r.out).toMatch(/2 plugin\(s\) do not fit the installed SLURM/);
  });

  it('catches a 24.11 build beside SLURM 25.11, found through slurm.conf (PluginDir, JobCompType, plugstack.conf)', () => {
    expect(built(s24) && built(s25), 'run bash scripts/build-slurm-matrix.sh').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'gl-plugins-check-'));
    writeFileSync(join(dir, 'plugstack.conf'), `required ${join(s24.pluginDir, 'spank_provider.so')} spool=/var/spool/gridlink/slurmd\n`);
    const conf = join(dir, 'slurm.conf');
    writeFileSync(conf, [`PluginDir=${join(s25.prefix!, 'lib', 'slurm')}:${s24.pluginDir}`, 'JobCompType=jobcomp/provider', `PlugStackConfig=${join(dir, 'plugstack.conf')}`, ''].join('\n'));
    const r = gridlink(['plugins', 'check', '--sbin', join(s25.prefix!, 'sbin'), '--slurm-conf', conf, '--json']);
    expect(r.code, r.out).toBe(1);
    const j = JSON.parse(r.out) as { ok: boolean; plugins: { file: string; ok: boolean; builtFor: string; installed: string; daemon: string }[] };
    expect(j.ok).toBe(false);
    expect(j.plugins.map((p) => [p.file, p.daemon, p.builtFor, p.installed, p.ok])).toEqual([
      [join(s24.pluginDir, 'jobcomp_provider.so'), 'slurmctld', '24.11.5', '25.11.7', false],
      [join(s24.pluginDir, 'spank_provider.so'), 'slurmd', '24.11.5', '25.11.7', false],
    ]);
  });

  it('passes plugins built for the installed SLURM', () => {
    const r = gridlink(['plugins', 'check', '--sbin', join(s25.prefix!, 'sbin'), '--plugin', join(s25.pluginDir, 'jobcomp_provider.so'), '--plugin', join(s25.pluginDir, 'spank_provider.so')]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('every plugin fits the installed SLURM');
  });
});

describe.skipIf(!haveMatrix)(`building against a given SLURM source${skipReason(haveMatrix, `the 24.11.5 and 25.11.7 tarballs are not in ${slurmTarballs}`)}`, () => {
  beforeAll(() => prepareSlurm(s24), PREPARE_TIMEOUT_MS);
  it('stops with the versions it found and what to pass', () => {
    const out = mkdtempSync(join(tmpdir(), 'gl-cmake-mismatch-'));
    const r = spawnSync(
      'cmake',
      ['-S', packageRoot, '-B', out, `-DSLURM_PREFIX=${s24.prefix}`, `-DSLURM_SOURCE=${join(slurmTarballs, 'slurm-25.11.7.tar.xz')}`, '-DGRIDLINK_RUNTIME=OFF'],
      { encoding: 'utf8' },
    );
    const text = (r.stdout + r.stderr).replace(/\s+/g, ' ');
    expect(r.status, text).not.toBe(0);
    expect(text).toContain(`SLURM versions do not match: headers 24.11.5 (${s24.prefix}/include), daemons 24.11.5 (${s24.prefix}/sbin/slurmctld), source 25.11.7 (${join(slurmTarballs, 'slurm-25.11.7.tar.xz')})`);
    expect(text).toMatch(/pass -DSLURM_PREFIX=<install prefix of the SLURM you run> and -DSLURM_SOURCE=<its source tree or slurm-X\.Y\.Z\.tar\.xz> of that same version/);
  });

  it('a matching source tarball (unconfigured: empty config.h) gives the same code as the configured tree', () => {
    expect(built(s25), 'run bash scripts/build-slurm-matrix.sh').toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'gl-cmake-tarball-'));
    const tarball = join(slurmTarballs, 'slurm-25.11.7.tar.xz');
    for (const args of [['-S', packageRoot, '-B', out, `-DSLURM_PREFIX=${s25.prefix}`, `-DSLURM_SOURCE=${tarball}`, '-DGRIDLINK_RUNTIME=OFF'], ['--build', out, '--target', 'jobcomp_provider']]) {
      const r = spawnSync('cmake', args, { encoding: 'utf8' });
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }
    const code = (dir: string, o: string) =>
      spawnSync('objdump', ['-d', '--no-show-raw-insn', join(dir, 'CMakeFiles', 'jobcomp_provider.dir', 'plugins', o)], { encoding: 'utf8' }).stdout.split('\n').slice(3).join('\n');
    for (const o of ['jobcomp_event.c.o', 'jobcomp_provider.c.o']) expect(code(out, o), o).toBe(code(s25.pluginDir, o));
  });

  it('on the system SLURM too: Debian 22.05.8 with a 24.11.5 source stops', () => {
    const out = mkdtempSync(join(tmpdir(), 'gl-cmake-mismatch-'));
    const r = spawnSync('cmake', ['-S', packageRoot, '-B', out, `-DSLURM_SOURCE=${join(slurmTarballs, 'slurm-24.11.5.tar.xz')}`, '-DGRIDLINK_RUNTIME=OFF'], { encoding: 'utf8' });
    const text = (r.stdout + r.stderr).replace(/\s+/g, ' ');
    expect(r.status, text).not.toBe(0);
    expect(text).toMatch(/SLURM versions do not match: headers 22\.05\.8 \(\/usr\/include\), daemons 22\.05\.8 \(\/usr\/sbin\/slurmctld\), source 24\.11\.5/);
  });
});
