// Homes: created with the customer as owner and mode 0700, finished after a
// crash between mkdir and chown, never taken from another owner.
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { DirectoryError, ensureHome } from '../../src/ldap/index.js';
import { skipReason } from '../helpers/skip-reason.js';

const NAME = '0x52908400098527886e0f7030069857d2e4169ee7';
const root = () => {
  const d = mkdtempSync(join(tmpdir(), 'gl-homes-'));
  chmodSync(d, 0o755);
  return join(d, 'homes');
};

describe.skipIf(process.getuid?.() !== 0)(`ensureHome (as root)${skipReason(process.getuid?.() === 0, 'not running as root')}`, () => {
  it('creates HOMEROOT/name owned by uid:gid, mode 0700, and the root itself 0755', () => {
    const r = root();
    const home = ensureHome(r, NAME, 123456, 59001);
    expect(home).toBe(join(r, NAME));
    const st = lstatSync(home);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([123456, 59001, 0o700]);
    expect(lstatSync(r).mode & 0o777).toBe(0o755);
    expect(ensureHome(r, NAME, 123456, 59001)).toBe(home); // idempotent
  });

  it('makes the root 0755 under a restrictive umask (systemd units run with 0077)', () => {
    const r = join(root(), 'a', 'b');
    const old = process.umask(0o077);
    try {
      ensureHome(r, NAME, 123460, 59001);
    } finally {
      process.umask(old);
    }
    for (const d of [r, join(r, '..'), join(r, '..', '..')]) expect(lstatSync(d).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(r, NAME)).mode & 0o7777).toBe(0o700);
  });

  it('refuses a home root customers cannot traverse, saying which directory to fix', () => {
    const top = mkdtempSync(join(tmpdir(), 'gl-homes-')); // mkdtemp: 0700
    const err = (() => {
      try {
        ensureHome(join(top, 'homes'), NAME, 123461, 59001);
      } catch (e) {
        return e as DirectoryError;
      }
    })();
    expect(err?.kind).toBe('home');
    expect(err?.message).toContain(`${top} has mode 0700 (no search permission for others); chmod o+x ${top}`);
    chmodSync(top, 0o711);
    expect(ensureHome(join(top, 'homes'), NAME, 123461, 59001)).toBe(join(top, 'homes', NAME));
  });

  it('finishes a home a crash left root-owned and empty, and repairs its mode', () => {
    const r = root();
    mkdirSync(join(r, NAME), { recursive: true, mode: 0o755 });
    ensureHome(r, NAME, 123457, 59001);
    const st = lstatSync(join(r, NAME));
    expect([st.uid, st.mode & 0o7777]).toEqual([123457, 0o700]);
    chmodSync(join(r, NAME), 0o755);
    ensureHome(r, NAME, 123457, 59001);
    expect(lstatSync(join(r, NAME)).mode & 0o7777).toBe(0o700);
  });

  it('leaves a home owned by someone else alone, with an error saying so', () => {
    const r = root();
    ensureHome(r, NAME, 123458, 59001);
    const err = (() => {
      try {
        ensureHome(r, NAME, 999999, 59001);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(DirectoryError);
    expect((err as DirectoryError).kind).toBe('conflict');
    expect((err as Error).message).toMatch(/belongs to uid 123458, not to the customer's uid 999999/);
    expect(lstatSync(join(r, NAME)).uid).toBe(123458);
  });

  it('does not take over a root-owned home that has content, nor follow a symlink', () => {
    const r = root();
    mkdirSync(join(r, NAME), { recursive: true });
    writeFileSync(join(r, NAME, 'data'), 'x');
    expect(() => ensureHome(r, NAME, 123459, 59001)).toThrow(/belongs to uid 0/);
    const r2 = root();
    mkdirSync(r2, { recursive: true });
    symlinkSync('/etc', join(r2, NAME));
    expect(() => ensureHome(r2, NAME, 123459, 59001)).toThrow(/not a directory/);
    expect(lstatSync('/etc').uid).toBe(0);
  });
});
