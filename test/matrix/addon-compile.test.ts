// addon-compile.test.ts - the addon's libslurm calls (native/addon/gl_slurm.cc
// behind native/gl_slurm_compat.h) compile without a warning against the
// public headers of every upstream SLURM tarball in ../shared/slurm and
// ../shared/slurm/next (23.11 to 26.05; 22.05 is the real build here). A
// syntax-only g++ per release, seconds each: slurm/slurm.h and slurm_errno.h
// come from the tarball, slurm_version.h is made from its META as a
// configured tree would have it (as CMakeLists.txt does for a tarball);
// nothing of SLURM is built.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { packageRoot } from '../../src/native/index.js';
import { skipReason } from '../helpers/skip-reason.js';
import { slurmTarballs } from '../plugins/with-plugins.js';

const tarballs = [slurmTarballs, join(slurmTarballs, 'next')]
  .filter((d) => existsSync(d))
  .flatMap((d) => readdirSync(d).filter((f) => /^slurm-\d+\.\d+\.\d+\.tar\.(xz|bz2|gz)$/.test(f)).map((f) => join(d, f)));
const version = (tarball: string): string => /slurm-(\d+\.\d+\.\d+)\.tar/.exec(tarball)![1]!;
tarballs.sort((a, b) => version(a).localeCompare(version(b), 'en', { numeric: true }));

/** Node's headers for this node (node_api.h): beside the executable, else node-gyp's or prebuildify's download. */
function nodeInclude(): string | undefined {
  const cands = [
    join(dirname(dirname(process.execPath)), 'include', 'node'),
    join(homedir(), '.cache', 'node-gyp', process.versions.node, 'include', 'node'),
    join(tmpdir(), 'prebuildify', 'node', process.versions.node, 'include', 'node'),
  ];
  return cands.find((d) => existsSync(join(d, 'node_api.h')));
}
const napiInclude = (createRequire(import.meta.url)('node-addon-api') as { include_dir: string }).include_dir;
const nodeHeaders = nodeInclude();
const haveGxx = spawnSync('g++', ['--version']).status === 0;
const ready = tarballs.length > 0 && nodeHeaders !== undefined && haveGxx;
const why =
  tarballs.length === 0 ? `no slurm-X.Y.Z.tar.xz in ${slurmTarballs} or its next/` : !haveGxx ? 'g++ is not installed' : `no node_api.h for Node ${process.versions.node}`;

const work = mkdtempSync(join(tmpdir(), 'gl-addon-compile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The tarball's public headers and META, unpacked; slurm/slurm_version.h made from META. Returns the include dirs. */
function headers(tarball: string): string[] {
  const v = version(tarball);
  const dest = join(work, v);
  mkdirSync(dest, { recursive: true });
  const x = spawnSync('tar', ['-xf', tarball, '-C', dest, '--wildcards', `slurm-${v}/slurm/*.h`, `slurm-${v}/slurm/*.h.in`, `slurm-${v}/META`], { encoding: 'utf8' });
  expect(x.status, x.stderr).toBe(0);
  const src = join(dest, `slurm-${v}`);
  const meta = readFileSync(join(src, 'META'), 'utf8');
  const field = (k: string): number => Number(new RegExp(`^\\s*${k}:\\s*(\\d+)`, 'm').exec(meta)![1]);
  const hex = ((field('Major') << 16) | (field('Minor') << 8) | field('Micro')).toString(16);
  const gen = join(dest, 'gen');
  mkdirSync(join(gen, 'slurm'), { recursive: true });
  const tmpl = readFileSync(join(src, 'slurm', 'slurm_version.h.in'), 'utf8');
  expect(tmpl).toContain('#undef SLURM_VERSION_NUMBER');
  writeFileSync(join(gen, 'slurm', 'slurm_version.h'), tmpl.replace('#undef SLURM_VERSION_NUMBER', `#define SLURM_VERSION_NUMBER 0x${hex.padStart(6, '0')}`));
  return [gen, src];
}

describe.skipIf(!ready)(`the addon's SLURM calls compile against each release's headers${skipReason(ready, why)}`, () => {
  it.each(tarballs.map((t) => [version(t), t]))('SLURM %s: g++ -fsyntax-only, no warning', (v, tarball) => {
    const inc = headers(tarball);
    // the same flags as binding.gyp's (target_defaults), warnings as errors
    const r = spawnSync(
      'g++',
      [
        '-std=c++17',
        '-fsyntax-only',
        '-Wall',
        '-Wextra',
        '-Wno-unused-parameter',
        '-Werror',
        '-fexceptions',
        '-DNAPI_VERSION=8',
        '-DNODE_ADDON_API_DISABLE_DEPRECATED',
        '-D_GNU_SOURCE',
        ...inc.map((d) => `-I${d}`),
        `-I${napiInclude}`,
        `-I${nodeHeaders}`,
        `-I${join(packageRoot, 'native')}`,
        join(packageRoot, 'native', 'addon', 'gl_slurm.cc'),
      ],
      { encoding: 'utf8' },
    );
    expect(r.status, `SLURM ${v}:\n${r.stderr}`).toBe(0);
    expect(r.stderr).toBe('');
    // it compiled against this release, not /usr/include's SLURM
    const pp = spawnSync('g++', ['-E', '-dM', '-x', 'c', ...inc.map((d) => `-I${d}`), '-'], { input: '#include <slurm/slurm_version.h>\n', encoding: 'utf8' });
    const [maj, min, mic] = v.split('.').map(Number) as [number, number, number];
    expect(pp.stdout).toMatch(new RegExp(`#define SLURM_VERSION_NUMBER 0x0*${((maj << 16) | (min << 8) | mic).toString(16)}\\b`));
  });

  it('a release below 22.05 is refused by the compatibility header', () => {
    const gen = join(work, 'old', 'slurm');
    mkdirSync(gen, { recursive: true });
    writeFileSync(join(gen, 'slurm_version.h'), '#define SLURM_VERSION_NUM(a,b,c) (((a) << 16) + ((b) << 8) + (c))\n#define SLURM_VERSION_NUMBER 0x150800\n');
    const r = spawnSync('g++', ['-fsyntax-only', '-x', 'c++', `-I${join(work, 'old')}`, join(packageRoot, 'native', 'gl_slurm_compat.h')], { encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('gridlink supports SLURM 22.05 and later');
  });
});
