import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { checkDrain, readBacklog, type DrainDeps } from '../../src/doctor/drain.js';
import { EventKind, SpoolWriter } from '../../src/native/index.js';
import { ctxOf, slurmFiles, tmp } from './helpers.js';

describe('drain check', () => {
  it('reads the oldest unacknowledged record of a real spool', () => {
    const dir = join(tmp(), 'spool');
    const w = new SpoolWriter(dir);
    w.append({ kind: EventKind.JobStarted, jobId: 1 });
    w.append({ kind: EventKind.JobStarted, jobId: 2 });
    w.close();
    const b = readBacklog(dir);
    expect(b.oldest?.seq).toBe(0);
    expect(Math.abs(b.oldest!.writtenMs - Date.now())).toBeLessThan(10_000);
    expect(b.backlogBytes).toBeGreaterThan(0);
  });

  const deps = (writtenMs: number | undefined, relay?: string): DrainDeps => ({
    exists: () => true,
    relay: () => relay,
    backlog: () => ({ backlogBytes: 300, ackedSeq: 4, ...(writtenMs !== undefined ? { oldest: { seq: 5, writtenMs } } : {}) }),
  });

  it('fails records older than max-lag, naming the relay', () => {
    const conf = slurmFiles(tmp(), { spank: null });
    const now = 1_000_000_000;
    const ctx = ctxOf({ slurmConf: conf, now: () => now, maxLagS: 60 });
    expect(checkDrain(ctx, deps(undefined))).toMatchObject({ status: 'ok', detail: 'slurmctld spool caught up (acked seq 4)' });
    expect(checkDrain(ctx, deps(now - 10_000)).status).toBe('ok');
    const r = checkDrain(ctx, deps(now - 300_000, 'the relay embedded in slurmctld (pid 7)'));
    expect(r.status).toBe('fail');
    expect(r.detail).toMatch(/300 bytes unacknowledged from seq 5, written 300 s ago \(over 60 s\): the relay embedded in slurmctld \(pid 7\) is not delivering/);
    expect(r.fix).toMatch(/relay\.log/);
    expect(checkDrain(ctx, deps(now - 300_000)).detail).toMatch(/no relay is not delivering/);
  });
});
