// The embedded entry: options as key=value argv, errors logged (never thrown,
// never process.exit), and a global stop function for the host daemon.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

import { FakeReceiver } from './fake-receiver.js';
import { ackedSeq, appendJobs, tempDir, until } from './helpers.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

function runEntry(argv: string[]) {
  const child = spawn('node_modules/.bin/tsx', ['test/relay/embedded-entry.ts'], {
    env: { ...process.env, GL_RELAY_ARGV: JSON.stringify(argv) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const io = { out: '', err: '' };
  child.stdout.on('data', (c: Buffer) => (io.out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (io.err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(() => void child.kill('SIGKILL'));
  return { child, io, exited };
}

describe('embedded relay entry', () => {
  it('starts from key=value options, delivers, and stops through __gridlinkRelayStop', async () => {
    const t = tempDir('gl-emb-');
    const rx = await new FakeReceiver({ verify: { kind: 'munge' } }).start();
    cleanups.push(t.cleanup, () => rx.stop());
    appendJobs(t.dir, 120);
    const { child, io, exited } = runEntry([`spool=${t.dir}`, `reporter=${rx.url}`, 'daemon=slurmctld', 'auth=munge', 'batch_max_records=50']);
    await until(() => rx.stored.length === 120, 20_000, 'delivery');
    await until(() => ackedSeq(t.dir) === 120, 5000, 'the ack');
    expect(io.out).toMatch(/loaded function/);
    child.stdin.write('stop\n');
    await until(() => io.out.includes('stopped'), 10_000, 'stop');
    child.stdin.end();
    expect(await exited).toBe(0); // nothing left running after stop
    expect(io.err).toMatch(/"msg":"relay stopped"/);
  });

  it('logs a bad option list and does not throw or exit non-zero', async () => {
    const { child, io, exited } = runEntry(['spool=/var/spool/x', 'reportr=http://r']);
    await until(() => io.out.includes('loaded'), 20_000, 'load');
    expect(io.err).toMatch(/gridlink relay not started: fix the plugin options/);
    expect(io.err).toMatch(/unknown relay option \\"reportr\\"/);
    expect(io.out).toMatch(/loaded function/); // the module loaded; the stop function is there
    child.stdin.end('stop\n');
    await until(() => io.out.includes('stopped'), 10_000, 'stop');
    expect(await exited).toBe(0);
  });
});
