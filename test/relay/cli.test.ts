// `gridlink relay` as operators run it: a process that drains the spool,
// serves metrics, and exits 0 within 5 s of SIGTERM.
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';

import { freePort } from '../../harness/cluster/ports.js';
import { PROMPT_EXIT_MS, sigterm } from '../helpers/sigterm.js';
import { FakeReceiver } from './fake-receiver.js';
import { ackedSeq, appendJobs, tempDir, until } from './helpers.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';


let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

describe('gridlink relay (CLI)', () => {
  it('drains the spool into the reporter, serves metrics, and exits 0 on SIGTERM', async () => {
    const t = tempDir('gl-cli-');
    const rx = await new FakeReceiver({ verify: { kind: 'munge' } }).start();
    cleanups.push(t.cleanup, () => rx.stop());
    appendJobs(t.dir, 300);
    const metricsPort = await freePort();
    // node itself, one process: SIGTERM reaches the relay (npm exec would not forward it).
    const child = spawn(
      process.execPath,
      [...cliEntry(), 'relay', '--spool', t.dir, '--reporter', rx.url, '--daemon', 'slurmctld', '--batch-max-records', '100', '--metrics-port', String(metricsPort)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    cleanups.push(() => void child.kill('SIGKILL'));

    await until(() => rx.stored.length === 300, 30_000, 'the relay to deliver 300 records');
    expect(rx.stored.map((r) => Number(r.seq))).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(rx.requests.every((r) => r.authOk)).toBe(true);
    await until(() => ackedSeq(t.dir) === 300, 5000, 'the ack');

    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/^gridlink_relay_records_relayed_total 300$/m);
    expect(metrics).toMatch(/^gridlink_relay_backlog_bytes 0$/m);

    const stopped = await sigterm(child);
    expect(stopped.code, out).toBe(0);
    expect(stopped.ms, out).toBeLessThan(PROMPT_EXIT_MS);
    const logs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['relay starting', 'signal received: stopping', 'relay stopped']));
  });

  it('refuses to start without a reporter URL, saying which setting is missing', async () => {
    const child = spawn(process.execPath, [...cliEntry(), 'relay', '--spool', '/tmp/nowhere'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(err).toMatch(/reporterUrl: Required/);
  });
});
