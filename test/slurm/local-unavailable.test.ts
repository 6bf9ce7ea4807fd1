// local-unavailable.test.ts - the local backend against a slurm.conf whose
// controller has nothing listening (in a child process: libslurm takes one
// slurm.conf per process): every call fails 'unavailable' within about
// MessageTimeout, and the event loop keeps running meanwhile (libslurm runs
// on the libuv pool, not on the JavaScript thread). Needs no cluster.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

it('fails unavailable in bounded time without blocking the event loop; a missing or second slurm.conf is an error', async () => {
  const fixture = path.resolve('test/slurm/fixtures/local-dead-ctld.ts');
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture], { timeout: 120_000 });
  const r = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, { kind: string; ms: number; ticks: number }> & Record<string, string>;
  expect(r.missingConf).toMatch(/does not exist: pass slurmConf/);
  expect(r.secondConf).toMatch(/reads its configuration once per process/);
  for (const call of ['list', 'partition', 'cancel', 'submit']) {
    const c = r[call] as unknown as { kind: string; ms: number; ticks: number };
    expect(c.kind, `${call}: ${r[`${call}Message`]}`).toBe('unavailable');
    // MessageTimeout=3 in the fixture's slurm.conf: libslurm retries connecting for about that long.
    expect(c.ms, call).toBeLessThan(15_000);
    // A 20 ms timer kept firing: at least half of the ticks the wait allowed.
    expect(c.ticks, call).toBeGreaterThanOrEqual(Math.floor(c.ms / 20 / 2));
  }
  expect(r.listMessage).toMatch(/slurmctld/);
}, 150_000);
