import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkKey } from '../../src/doctor/key.js';
import { configInput, ctxOf, tmp } from './helpers.js';

describe('key check', () => {
  const file = join(tmp(), 'provider.key');
  writeFileSync(file, `0x${'11'.repeat(32)}\n`, { mode: 0o600 });
  const input = configInput();
  const ctx = ctxOf({ input: { ...input, chain: { ...input.chain, keyFile: file } } });

  it('passes a 0600 key of the running user', () => {
    chmodSync(file, 0o600);
    expect(checkKey(ctx)).toMatchObject({ status: 'ok', detail: `provider 0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A from ${file} (mode 0600)` });
  });

  it('fails a key readable by others with the chmod that fixes it', () => {
    chmodSync(file, 0o644);
    expect(checkKey(ctx)).toMatchObject({ status: 'fail', detail: `${file} is readable by others (mode 0644)`, fix: `chmod 600 ${file} (readable by its owner only)` });
    chmodSync(file, 0o600);
  });

  it('fails a missing key file and no key at all', () => {
    const c = ctxOf({ input: { ...input, chain: { ...input.chain, keyFile: `${file}.missing` } } });
    expect(checkKey(c)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot open .*missing/) });
    expect(checkKey(ctxOf({ input }))).toMatchObject({ status: 'fail', detail: expect.stringMatching(/no provider key/) });
  });
});
