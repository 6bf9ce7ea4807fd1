// The devnet's supervisor process without a devnet: one that dies at start
// fails the wait at once with its exit and the end of its log; the stop
// signals the recorded process only while its start time matches (a reused
// PID is never hit) and finds one started by hand by its command line; the
// devnet's stop removes the lock files left by processes that are gone,
// files kept or not. (test/devnet/devnet.test.ts runs it in a real devnet.)
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, expect, it } from 'vitest';

import { runningSupervisors, supervisorRunArgs } from '../../src/cli/status.js';
import { stopDevnet } from '../../harness/devnet/down.js';
import { procRef, sameProcess } from '../../harness/devnet/procs.js';
import { spawnSupervisor, stopSupervisor, waitSupervisorReady } from '../../harness/devnet/supervisor-process.js';

const dir = mkdtempSync('/tmp/gl-devnet-sup-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A process that only sleeps, with the supervisor's arguments on its command line (as `npm run gridlink -- ...` has them). */
function lookalike(config: string) {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', ...supervisorRunArgs(config)], { stdio: 'ignore' });
}

it('a supervisor that dies at start fails the wait with how it exited and its log', async () => {
  const config = join(dir, 'bad.json');
  writeFileSync(config, JSON.stringify({ chain: { rpcUrl: 'not a url' } }));
  const log = join(dir, 'supervisor.log');
  writeFileSync(log, 'an earlier run\n');
  const p = spawnSupervisor(config, log);
  expect(p.logOffset).toBe('an earlier run\n'.length);
  const t0 = Date.now();
  const err = (await waitSupervisorReady(p, { ingestUrl: 'http://127.0.0.1:9', logFile: log, timeoutMs: 120_000 }).catch((e: Error) => e)) as Error;
  expect(err).toBeInstanceOf(Error);
  expect(err.message).toMatch(new RegExp(`^the supervisor \\(pid ${p.ref.pid}\\) exited while starting \\(exit code 1\\); the end of its log ${log}:\\n`));
  expect(err.message).toMatch(/supervisor configuration/); // the CLI's own error, from the log
  expect(Date.now() - t0).toBeLessThan(110_000); // not the timeout
}, 150_000);

it('names how it exited even when the process is reaped before its exit event has run', async () => {
  const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const ref = procRef('supervisor', gone.pid!);
  await new Promise((r) => gone.once('exit', r));
  const log = join(dir, 'reaped.log');
  writeFileSync(log, 'its last line\n');
  // The PID is gone; the exit code comes a moment later (CI saw "(gone)" here).
  const exited = new Promise<string>((r) => setTimeout(() => r('exit code 1'), 300));
  const err = (await waitSupervisorReady({ ref, exited, logOffset: 0 }, { ingestUrl: 'http://127.0.0.1:9', logFile: log, timeoutMs: 60_000 }).catch((e: Error) => e)) as Error;
  expect(err.message).toMatch(new RegExp(`^the supervisor \\(pid ${ref.pid}\\) exited while starting \\(exit code 1\\); the end of its log ${log}:\\nits last line$`));
});

it('stops the recorded supervisor only while its start time matches, and one started by hand by its command line', async () => {
  const config = join(dir, 'supervisor.json');
  const recorded = lookalike(config);
  const byHand = lookalike(join(dir, 'other.json'));
  try {
    await new Promise((r) => setTimeout(r, 300));
    const ref = procRef('supervisor', recorded.pid!);
    // Same PID, another start time: a process the kernel gave the PID to since.
    expect(await stopSupervisor([{ ...ref, start: ref.start - 1 }], undefined, 2000)).toEqual([]);
    expect(sameProcess(ref)).toBe(true);
    expect(runningSupervisors(config)).toEqual([recorded.pid]);
    expect((await stopSupervisor([ref], undefined, 2000)).map((r) => r.pid)).toEqual([recorded.pid]);
    expect(sameProcess(ref)).toBe(false);
    // Not recorded: found by `supervisor run --config <file>`.
    const other = join(dir, 'other.json');
    expect(runningSupervisors(other)).toEqual([byHand.pid]);
    expect((await stopSupervisor([], other, 2000)).map((r) => r.pid)).toEqual([byHand.pid]);
    expect(runningSupervisors(other)).toEqual([]);
  } finally {
    recorded.kill('SIGKILL');
    byHand.kill('SIGKILL');
  }
});

it('the stop removes the lock files of processes that are gone, and keeps one a live process holds', async () => {
  const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  const ref = procRef('devnet', gone.pid!);
  await new Promise((r) => gone.once('exit', r));
  const devnet = join(dir, 'dead-devnet');
  mkdirSync(join(devnet, 'supervisor'), { recursive: true });
  writeFileSync(join(devnet, 'lock'), JSON.stringify(ref));
  writeFileSync(join(devnet, 'supervisor', 'LOCK'), JSON.stringify({ pid: ref.pid, start: ref.start }));
  const r = await stopDevnet(devnet, { keepFiles: true });
  expect(r.locks).toEqual([join(devnet, 'supervisor', 'LOCK')]);
  expect(existsSync(join(devnet, 'lock'))).toBe(false);
  expect(existsSync(join(devnet, 'supervisor', 'LOCK'))).toBe(false);
  expect(existsSync(devnet)).toBe(true); // the files kept

  const live = procRef('test', process.pid);
  writeFileSync(join(devnet, 'supervisor', 'LOCK'), JSON.stringify({ pid: live.pid, start: live.start }));
  expect((await stopDevnet(devnet, { keepFiles: true })).locks).toEqual([]);
  expect(existsSync(join(devnet, 'supervisor', 'LOCK'))).toBe(true);
});
