// The customer's side on a devnet, through `gridlink job` as a customer types
// it: two scripts submitted and followed (one succeeds, one exits 3), a third
// cancelled while it runs, a fourth topped up while it runs; each one's
// status, bill and output checked through the CLI's --json and `job logs`.
// Hostile scripts (no #!, DOS line breaks, a NUL byte) are refused before
// any credit moves: the balance and the account's job list are unchanged.
// At the end the balance is down by exactly the jobs' costs. This devnet is
// the LDAP one (`--directory ldap`: a private 389ds and this host's SSSD; the
// default, gridlink, is devnet.test.ts's): the jobs run as directory users,
// and `gridlink doctor` passes on it, then fails its ldap check alone while
// the directory server is stopped.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseUnits, type Hex } from 'viem';
import { afterAll, expect, it } from 'vitest';

import { createCustomerContext } from '../../src/customer/context.js';
import { devnetCustomer } from '../../src/customer/devnet.js';
import type { JobView } from '../../src/customer/view.js';
import type { DevnetState } from '../../harness/devnet/state.js';
import { doctor, expectAllOk, expectLdapFault } from './doctor.js';
import { DEVNET_START_MS, runScript, type Run } from './run-script.js';

const parent = mkdtempSync('/tmp/gl-customer-test-');
chmodSync(parent, 0o755); // customers' homes are below it
const dir = join(parent, 'devnet');
const env = { ...process.env, GRIDLINK_DEVNET_DIR: dir };

const run = (script: string, args: string[], timeoutMs = 120_000): Promise<Run> => runScript(env, script, args, timeoutMs);
const devnet = (...a: string[]) => run('harness/devnet/main.ts', a, DEVNET_START_MS);
const job = (...a: string[]) => run('src/cli/main.ts', ['job', ...a]);
const show = (r: Run) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

async function statusJson(id: Hex): Promise<JobView> {
  const r = await job('status', id, '--json');
  expect(r.code, show(r)).toBe(0);
  return JSON.parse(r.stdout) as JobView;
}

const script = (name: string, text: string): string => {
  const f = join(parent, name);
  writeFileSync(f, text);
  return f;
};

afterAll(async () => {
  await devnet('down');
  rmSync(parent, { recursive: true, force: true });
}, 420_000);

it('submits, follows, cancels and tops up jobs through `gridlink job`; refuses hostile scripts before credits move', async () => {
  const up = await devnet('--job-timeout', '90', '--directory', 'ldap');
  expect(up.code, show(up)).toBe(0);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as DevnetState;
  expect(state.users?.resolver).toBe('ldap');
  expect(up.stdout).toMatch(/directory +ldap:\/\/\S+ \(StartTLS/);
  const ctx = await createCustomerContext(devnetCustomer(state));
  const balance = () => ctx.client.getCreditBalance(ctx.customer);
  const listed = async () => {
    const r = await job('status', '--json');
    expect(r.code, show(r)).toBe(0);
    return JSON.parse(r.stdout) as JobView[];
  };

  // Hostile scripts: refused, nothing locked, no job requested.
  const before = await balance();
  const jobsBefore = (await listed()).length;
  expect(jobsBefore).toBe(1); // the devnet's demo job
  const hostile = await Promise.all([
    job('submit', script('no-shebang.sh', 'echo hi\n'), '--no-follow'),
    job('submit', script('dos.sh', '#!/bin/bash\r\necho hi\r\n'), '--no-follow'),
    job('submit', script('nul.sh', '#!/bin/bash\necho hi\0\n'), '--no-follow'),
    job('submit', script('fat.sh', '#!/bin/bash\necho hi\n'), '--no-follow', '--mem-per-cpu', '64T'),
  ]);
  const messages = [/does not start with #!/, /has DOS line breaks \(CR LF\), which SLURM refuses/, /contains a NUL byte/, /no provider matches these resources \(1 task of 1 CPU with 67108864 MB per CPU\): 0x[0-9a-fA-F]{40}: room for 0 tasks/];
  hostile.forEach((r, i) => {
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(messages[i]!);
  });
  expect(await balance()).toBe(before);
  expect((await listed()).length).toBe(jobsBefore);

  // Four jobs at once: two followed to their end, two left running (cancelled, topped up below).
  const ok = script('ok.sh', '#!/bin/bash\necho "ok from $(hostname) as $(id -un)"\nsleep 2\necho "ok done"\n');
  const fail = script('fail.sh', '#!/bin/bash\necho "about to fail"\nexit 3\n');
  const long = script('long.sh', '#!/bin/bash\necho "long started"\nsleep 300\necho "never printed"\n');
  const topped = script('topped.sh', '#!/bin/bash\necho "topped started"\nsleep 45\necho "topped done"\n');
  const t0 = Date.now();
  // The two followed to their end are awaited only after the other two were cancelled and topped up while
  // running: waiting for all four first (58-66 s at load 14) let the 45-s topped job end before its top-up.
  const followed = Promise.all([
    job('submit', ok, '--follow', '--json', '--name', 'ok'),
    job('submit', fail, '--follow', '--json', '--name', 'fail', '--minutes', '5'),
  ]);
  const [longRun, toppedRun] = await Promise.all([job('submit', long, '--no-follow', '--json', '--credits', '150'), job('submit', topped, '--no-follow', '--json')]);
  console.log(`customer test: two submits without --follow took ${Date.now() - t0} ms`);

  // Cancel the long one while it runs; top up the other while it runs.
  expect(longRun.code, show(longRun)).toBe(0);
  expect(toppedRun.code, show(toppedRun)).toBe(0);
  const longId = (JSON.parse(longRun.stdout) as { jobId: Hex; lockedCredits: string }).jobId;
  const toppedId = (JSON.parse(toppedRun.stdout) as { jobId: Hex }).jobId;
  expect(JSON.parse(longRun.stdout)).toMatchObject({ lockedCredits: '150' });
  const running = async (id: Hex) => {
    const end = Date.now() + 90_000;
    for (;;) {
      const v = await ctx.client.getJob(id);
      if (v.status === 3) return;
      if (v.status > 3 || Date.now() > end) throw new Error(`job ${id} is ${v.status}, not RUNNING`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };
  await Promise.all([running(longId), running(toppedId)]);
  const [cancelRun, topUpRun, logsFollow] = await Promise.all([
    job('cancel', longId, '--json'),
    job('top-up', toppedId, '--minutes', '2', '--json'),
    job('logs', toppedId, '--follow'),
  ]);
  expect(cancelRun.code, show(cancelRun)).toBe(0);
  expect(JSON.parse(cancelRun.stdout)).toMatchObject({ jobId: longId, requested: true });
  expect(topUpRun.code, show(topUpRun)).toBe(0);
  expect(JSON.parse(topUpRun.stdout)).toMatchObject({ jobId: toppedId, addedCredits: '2', addedMinutes: 2 });
  // logs --follow printed the output as it grew and returned when the job ended.
  expect(logsFollow.code, show(logsFollow)).toBe(0);
  expect(logsFollow.stdout).toBe('topped started\ntopped done\n');

  const [okRun, failRun] = await followed;
  console.log(`customer test: the two followed submits ended ${Date.now() - t0} ms after the start`);
  expect(okRun.code, show(okRun)).toBe(0);
  const okOut = JSON.parse(okRun.stdout) as { jobId: Hex; lockedCredits: string; job: JobView };
  expect(okOut.job).toMatchObject({ name: 'ok', status: 'FINISHED', exitCode: 0, lockedCredits: '100', ended: true, claim: 'submitted', user: ctx.customer.toLowerCase() });
  expect(okOut.job.billedMinutes).toBeGreaterThanOrEqual(1);
  expect(Number(okOut.job.cost)).toBeGreaterThan(0);
  expect(Number(okOut.job.providerPayment)).toBeGreaterThan(0);
  expect(Number(okOut.job.cost) + Number(okOut.job.customerRefund)).toBe(100);
  // The followed life (on stderr with --json) ends with the output.
  expect(okRun.stderr).toMatch(/requested on chain[\s\S]*META_SCHEDULED[\s\S]*submitted it to SLURM: job \d+[\s\S]*RUNNING[\s\S]*FINISHED.*billed \d+ min[\s\S]*provider paid [\d.]+ credits.*customer refunded [\d.]+ credits\noutput \(.*slurm-\d+\.out\):\n {2}ok from \S+ as 0x[0-9a-f]{40}\n {2}ok done\n/);

  expect(failRun.code, show(failRun)).toBe(2);
  const failOut = JSON.parse(failRun.stdout) as { jobId: Hex; lockedCredits: string; job: JobView };
  expect(failOut.job).toMatchObject({ name: 'fail', status: 'FAILED', exitCode: 3, lockedCredits: '100' }); // 5 minutes cost less than the minimum
  expect(failOut.job.lastError).toMatch(/exit code 3/);
  expect(failRun.stderr).toMatch(/FAILED.*exit code 3[\s\S]*\n {2}about to fail\n/);
  const logs = await Promise.all([job('logs', okOut.jobId), job('logs', failOut.jobId)]);
  expect(logs.map((r) => [r.code, r.stdout])).toEqual([
    [0, expect.stringMatching(/^ok from \S+ as 0x[0-9a-f]{40}\nok done\n$/)],
    [0, 'about to fail\n'],
  ]);

  const again = await job('cancel', longId);
  const cancelled = await (async () => {
    const end = Date.now() + 60_000;
    for (;;) {
      const v = await statusJson(longId);
      if (v.ended || Date.now() > end) return v;
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  // A second cancel: already requested, or (if the provider was quick) already ended; either way a sentence.
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/^gridlink: (a cancel of job 0x[0-9a-f]{64} was already requested: its provider stops it|job 0x[0-9a-f]{64} has already ended \(CANCELLED\): nothing to cancel)/);
  const third = await job('cancel', longId);
  expect([third.code, third.stderr]).toEqual([1, `gridlink: job ${longId} has already ended (CANCELLED): nothing to cancel; its credits were settled when it ended (gridlink job status ${longId})\n`]);
  expect(cancelled).toMatchObject({ status: 'CANCELLED', lockedCredits: '150', cancelRequested: true, ended: true });
  expect(Number(cancelled.cost)).toBeGreaterThan(0); // it ran: billed
  expect(Number(cancelled.cost) + Number(cancelled.customerRefund)).toBe(150);
  const longLogs = await job('logs', longId);
  // Stopped in its sleep: never its last line; SLURM's own line says it was cancelled.
  expect(longLogs.stdout).toMatch(/^long started\n(slurmstepd-\S+: error: \*\*\* JOB \d+ ON \S+ CANCELLED AT \S+ \*\*\*\n)?$/);

  const toppedView = await statusJson(toppedId);
  expect(toppedView).toMatchObject({ status: 'FINISHED', exitCode: 0, lockedCredits: '102', pendingTopUp: '0' });
  const after = await job('top-up', toppedId, '--credits', '1');
  expect(after.code).toBe(1);
  expect(after.stderr).toMatch(/has already ended \(FINISHED\): nothing to top up/);

  // Every credit accounted for: the balance fell by the four jobs' costs.
  const views = await listed();
  expect(views).toHaveLength(5);
  const spent = [okOut.jobId, failOut.jobId, longId, toppedId].map((id) => parseUnits(views.find((v) => v.jobId === id)!.cost!, 18)).reduce((a, b) => a + b, 0n);
  expect(await balance()).toBe(before - spent);

  // Last (a directory server that stopped answering sends SSSD offline for a while, slowing later lookups):
  // doctor passes, then fails its ldap check alone while 389ds is stopped.
  expectAllOk(state, await doctor(state, env));
  await expectLdapFault(state, env);
}, 900_000);
