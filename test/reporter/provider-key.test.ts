import { chmodSync, chownSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { PROVIDER_KEY_ENV, loadProviderKey } from '../../src/reporter/provider-key.js';

const KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';
const ADDRESS = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

function keyFile(content = `${KEY}\n`, mode = 0o600): string {
  const f = join(mkdtempSync(join(tmpdir(), 'gl-pk-')), 'provider.key');
  writeFileSync(f, content, { mode });
  chmodSync(f, mode);
  return f;
}

describe('provider key', () => {
  it('from a 0600 file owned by the running user, with or without 0x and a final newline', () => {
    expect(loadProviderKey({ keyFile: keyFile(), env: {} }).account.address).toBe(ADDRESS);
    expect(loadProviderKey({ keyFile: keyFile(KEY.slice(2)), env: {} }).account.address).toBe(ADDRESS);
  });

  it('from the environment when no file is given; the file wins when both are', () => {
    const r = loadProviderKey({ env: { [PROVIDER_KEY_ENV]: KEY } });
    expect(r.account.address).toBe(ADDRESS);
    expect(r.source).toBe(`$${PROVIDER_KEY_ENV}`);
    expect(loadProviderKey({ keyFile: keyFile(), env: { [PROVIDER_KEY_ENV]: '0x01'.padEnd(66, '0') } }).account.address).toBe(ADDRESS);
  });

  it('refuses, saying what to fix and never echoing the content', () => {
    const cases: Array<[() => unknown, RegExp]> = [
      [() => loadProviderKey({ keyFile: keyFile(`${KEY}\n`, 0o640), env: {} }), /mode 0640: it must be 0600: chmod 600/],
      [() => loadProviderKey({ keyFile: keyFile(`${KEY}\n`, 0o400), env: {} }), /mode 0400: it must be 0600/],
      [() => loadProviderKey({ keyFile: keyFile('secret words here\n'), env: {} }), /does not hold a private key: expected 64 hex digits/],
      [() => loadProviderKey({ keyFile: keyFile(`0x${'0'.repeat(64)}`), env: {} }), /zero key/],
      [() => loadProviderKey({ keyFile: '/nonexistent/provider.key', env: {} }), /cannot open \/nonexistent\/provider\.key/],
      [() => loadProviderKey({ env: {} }), /no provider key: pass --key-file/],
      [() => loadProviderKey({ env: { [PROVIDER_KEY_ENV]: 'nope' } }), /\$GRIDLINK_PROVIDER_KEY does not hold a private key/],
    ];
    for (const [f, re] of cases) {
      let msg = '';
      try {
        f();
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toMatch(re);
      expect(msg).not.toMatch(/secret words|ac0974bec/);
    }
  });

  it('refuses a symbolic link and a file someone else owns', () => {
    const f = keyFile();
    const link = join(mkdtempSync(join(tmpdir(), 'gl-pk-')), 'link.key');
    symlinkSync(f, link);
    expect(() => loadProviderKey({ keyFile: link, env: {} })).toThrow(/symbolic link, not a regular file/);
    chownSync(f, 65534, 65534);
    expect(() => loadProviderKey({ keyFile: f, env: {} })).toThrow(/owned by uid 65534: it must belong to root: chown root/);
  });
});
