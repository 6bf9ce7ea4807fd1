import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { procStartTime } from '../../src/util/proc.js';
import { checkRuntime } from '../../src/doctor/runtime.js';
import { relayHolder } from '../../src/doctor/slurm.js';
import { ctxOf, slurmFiles, tmp } from './helpers.js';

describe('runtime check', () => {
  it('reads relay.lock: a live holder, a stale one, none', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'relay.lock'), JSON.stringify({ pid: process.pid, start: procStartTime(process.pid) }));
    expect(relayHolder(dir)).toEqual({ pid: process.pid, comm: expect.any(String) });
    writeFileSync(join(dir, 'relay.lock'), JSON.stringify({ pid: process.pid, start: 1 }));
    expect(relayHolder(dir)).toEqual({ stale: process.pid });
    expect(relayHolder(join(dir, 'none'))).toBeUndefined();
  });

  it('passes with a live relay per spool, fails naming the spool and the embedded runtime otherwise', () => {
    const dir = tmp();
    const conf = slurmFiles(dir);
    mkdirSync(join(dir, 'spool', 'slurmctld'), { recursive: true });
    mkdirSync(join(dir, 'spool', 'slurmd'), { recursive: true });
    const ctx = ctxOf({ slurmConf: conf });
    expect(checkRuntime(ctx, (d) => ({ pid: 9, comm: d.endsWith('slurmd') ? 'slurmd' : 'slurmctld' }))).toMatchObject({ status: 'ok', detail: expect.stringMatching(/the relay embedded in slurmctld \(pid 9\) drains/) });
    const r = checkRuntime(ctx, (d) => (d.endsWith('slurmd') ? { stale: 42 } : { pid: 9, comm: 'node' }));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/^no relay drains the slurmd spool .*names pid 42, which is gone\)$/);
    expect(r.fix).toMatch(/the relay embedded in slurmd is not running/);
  });
});
