// native/gl_home.c, what the SPANK job prolog runs as root to make a
// customer's home (home_root=DIR): DIR/<address>, 0700, owned by the
// customer; a symlink or file planted there is never followed or changed, a
// home of another owner is left alone, a crash between mkdir and chown is
// finished, a home root others can write to is refused, names that are not
// customers' are refused. Compiled here with cc; run as root in a temp dir.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'gl-home-'));
const driver = join(dir, 'home-driver');
const A = `0x${'a1'.repeat(20)}`;
const B = `0x${'b2'.repeat(20)}`;

beforeAll(() => {
  execFileSync('cc', ['-O1', '-Wall', '-Werror', '-D_GNU_SOURCE', `-I${join(root, 'native')}`, '-o', driver, join(root, 'native/gl_home.c'), join(import.meta.dirname, 'home-driver.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ensure = (homeRoot: string, name: string, uid = 200_001, gid = 200_001) => {
  const out = execFileSync(driver, [homeRoot, name, String(uid), String(gid)], { encoding: 'utf8' }).trim();
  const sp = out.indexOf(' ');
  return { rc: Number(sp < 0 ? out : out.slice(0, sp)), err: sp < 0 ? '' : out.slice(sp + 1) };
};

function homeRoot(name: string, mode = 0o755): string {
  const d = join(dir, name);
  mkdirSync(d);
  chmodSync(d, mode);
  return d;
}

describe('gl_home_ensure (the SPANK prolog\'s home)', () => {
  it('makes DIR/<address> 0700 owned by the customer, once; the customer\'s own home is left as they keep it', () => {
    const r = homeRoot('ok');
    expect(ensure(r, A)).toEqual({ rc: 0, err: '' });
    const st = statSync(join(r, A));
    expect([st.isDirectory(), st.mode & 0o7777, st.uid, st.gid]).toEqual([true, 0o700, 200_001, 200_001]);
    chmodSync(join(r, A), 0o750); // the customer's choice
    expect(ensure(r, A).rc).toBe(1);
    expect(statSync(join(r, A)).mode & 0o7777).toBe(0o750);
  });

  it('never follows a symlink planted at the home\'s name, and never changes a file there', () => {
    const r = homeRoot('links');
    const target = join(dir, 'victim');
    mkdirSync(target);
    symlinkSync(target, join(r, A));
    const res = ensure(r, A);
    expect(res.rc).toBe(-1);
    expect(res.err).toMatch(/a symlink.*never followed/);
    expect([statSync(target).uid, statSync(target).mode & 0o7777]).toEqual([0, 0o755]); // untouched
    expect(readlinkSync(join(r, A))).toBe(target);
    writeFileSync(join(r, B), 'x');
    expect(ensure(r, B).rc).toBe(-1);
    expect(lstatSync(join(r, B)).uid).toBe(0);
  });

  it('leaves another owner\'s directory alone, finishes a root-owned empty one (a crash before the chown)', () => {
    const r = homeRoot('owners');
    mkdirSync(join(r, A));
    chownSync(join(r, A), 300_000, 300_000);
    const res = ensure(r, A);
    expect(res.rc).toBe(-1);
    expect(res.err).toMatch(/belongs to uid 300000.*left as it is/);
    expect(statSync(join(r, A)).uid).toBe(300_000);
    mkdirSync(join(r, B), { mode: 0o755 }); // root's, empty
    expect(ensure(r, B).rc).toBe(0);
    expect([statSync(join(r, B)).uid, statSync(join(r, B)).mode & 0o7777]).toEqual([200_001, 0o700]);
    // root's and not empty: someone's data, left alone
    const C = `0x${'c3'.repeat(20)}`;
    mkdirSync(join(r, C));
    writeFileSync(join(r, C, 'data'), 'x');
    expect(ensure(r, C).rc).toBe(-1);
    expect(statSync(join(r, C)).uid).toBe(0);
  });

  it('refuses a home root others can write to, a relative or missing one, names that are not customers\', and root', () => {
    expect(ensure(homeRoot('open', 0o777), A).err).toMatch(/writable by root only/);
    expect(ensure(homeRoot('sticky', 0o1777), A).rc).toBe(0); // /tmp-like: sticky protects the names
    expect(ensure(homeRoot('group', 0o775), A).err).toMatch(/writable by root only/);
    expect(ensure('relative', A).err).toMatch(/not an absolute path/);
    expect(ensure(join(dir, 'missing'), A).err).toMatch(/cannot open the home root/);
    const r = homeRoot('names');
    for (const bad of ['..', 'root', A.toUpperCase().replace('0X', '0x'), `${A}/x`, `../${A.slice(3)}`, `${A}a`]) expect(ensure(r, bad).err, bad).toMatch(/not a customer's login/);
    expect(ensure(r, A, 0, 0).err).toMatch(/no home is made for root/);
  });
});
