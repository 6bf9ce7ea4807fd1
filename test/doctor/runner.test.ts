import { describe, expect, it } from 'vitest';

import { renderResults, runChecks } from '../../src/doctor/runner.js';
import { fail, ok, type Check } from '../../src/doctor/types.js';
import { ctxOf } from './helpers.js';

const check = (name: string, run: Check['run'], needs?: string[]): Check => ({ name, run, ...(needs ? { needs } : {}) });

describe('doctor runner', () => {
  it('fails a hung check at its deadline and still reports the others', async () => {
    const t0 = Date.now();
    const r = await runChecks(
      [check('hangs', () => new Promise(() => undefined)), check('fine', async () => ok('yes')), check('throws', async () => { throw new Error('boom'); })],
      ctxOf(),
      { timeoutMs: 300 },
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.map((x) => [x.check, x.status])).toEqual([['hangs', 'fail'], ['fine', 'ok'], ['throws', 'fail']]);
    expect(r[0]!.detail).toMatch(/no answer within 0.3 s/);
    expect(r[2]!.detail).toMatch(/boom/);
  });

  it('skips a check whose dependency failed, and runs it when the dependency passed', async () => {
    let ran = 0;
    const dep = (good: boolean) => check('chain', async () => (good ? ok('up') : fail('down', 'start it')));
    const child = check('contract', async () => (ran++, ok('there')), ['chain']);
    const bad = await runChecks([dep(false), child], ctxOf());
    expect(bad[1]).toMatchObject({ status: 'skip', ok: true, detail: 'not checked: chain did not pass' });
    expect(ran).toBe(0);
    const good = await runChecks([dep(true), child], ctxOf());
    expect(good[1]).toMatchObject({ status: 'ok', ok: true });
    expect(ran).toBe(1);
  });

  it('renders one line per check with its fix', () => {
    const text = renderResults([
      { check: 'chain', ok: true, status: 'ok', detail: 'chain id 31337 at http://x' },
      { check: 'key', ok: false, status: 'fail', detail: '/k is readable by others (mode 0644)', fix: 'chmod 600 /k' },
      { check: 'ldap', ok: true, status: 'skip', detail: 'not configured' },
    ]);
    expect(text).toBe('ok    chain: chain id 31337 at http://x\nFAIL  key: /k is readable by others (mode 0644): chmod 600 /k\nskip  ldap: not configured');
  });
});
