// User hooks run in a worker: a hook that throws, hangs or calls process.exit
// is logged and contained, and never holds up delivery.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { startRelay, type Relay } from '../../src/relay/relay.js';
import { FakeReceiver } from './fake-receiver.js';
import { appendJobs, captureLog, relayConfig, tempDir, until } from './helpers.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

/** A relay over `records` completions with the hook module `source(dir)`. */
async function withHook(source: (dir: string) => string, opts: { timeoutMs?: number; queueMax?: number; records?: number } = {}) {
  const t = tempDir('gl-hooks-');
  const rx = await new FakeReceiver().start();
  cleanups.push(t.cleanup, () => rx.stop());
  const module = join(t.dir, 'hooks.mjs');
  writeFileSync(module, source(t.dir));
  const spool = join(t.dir, 'spool');
  const records = opts.records ?? 200;
  appendJobs(spool, records);
  const log = captureLog();
  const cfg = relayConfig(spool, rx.url, {
    batchMaxRecords: 50,
    hooks: { module, timeoutMs: opts.timeoutMs ?? 300, queueMax: opts.queueMax ?? 1000 },
  });
  const t0 = performance.now();
  const relay: Relay = startRelay(cfg, { logger: log.logger });
  cleanups.push(() => relay.stop());
  return { dir: t.dir, rx, relay, log, records, t0 };
}

const errors = (log: ReturnType<typeof captureLog>) => log.lines.filter((l) => l.level >= 50);

describe('relay hooks', () => {
  it('calls onJobComplete with a typed copy of each delivered event', async () => {
    const { dir, relay } = await withHook(
      (d) => `import { appendFileSync } from 'node:fs';
        export function onJobComplete(ev) {
          appendFileSync(${JSON.stringify(join(d, 'calls.jsonl'))}, JSON.stringify({ jobId: ev.jobId, seq: typeof ev.seq + ':' + ev.seq,
            host: ev.host, daemon: ev.daemon, kindName: ev.kindName, cpu: ev.tres.cpu }) + '\\n');
        }
        export function onJobStart() { throw new Error('not called for completions'); }`,
      { records: 5 },
    );
    await relay.drained();
    await until(() => relay.stats().hooks?.completed === 5, 5000, '5 hook calls');
    const calls = readFileSync(join(dir, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    expect(calls).toEqual(
      [1, 2, 3, 4, 5].map((jobId, i) => ({ jobId, seq: `bigint:${i}`, host: 'testhost', daemon: 'slurmctld', kindName: 'job_completed', cpu: 2 })),
    );
    expect(relay.stats().hooks).toMatchObject({ failed: 0, timedOut: 0, dropped: 0 });
  });

  it('logs a hook that throws, and delivery is unaffected', async () => {
    const { rx, relay, log, records } = await withHook(() => `export async function onJobComplete(ev) { throw new Error('boom ' + ev.jobId); }`);
    await relay.drained();
    expect(rx.stored).toHaveLength(records);
    await until(() => relay.stats().hooks?.failed === records, 10_000, 'every hook call to fail');
    expect(errors(log).some((l) => /hook onJobComplete failed/.test(l.msg ?? '') && /boom 1\b/.test(String(l.error)))).toBe(true);
  });

  it('delivers everything while a hook loops forever: the call is timed out, the worker replaced, the overflow dropped with a log', async () => {
    const { rx, relay, log, records, t0 } = await withHook(() => `export function onJobComplete() { for (;;) {} }`, { timeoutMs: 200, queueMax: 5 });
    await relay.drained();
    const deliveredMs = performance.now() - t0;
    expect(rx.stored).toHaveLength(records);
    // 200 hook calls at 200 ms each would take 40 s: delivery did not wait for them.
    expect(deliveredMs).toBeLessThan(3000);
    expect(relay.stats().hooks!.timedOut).toBeLessThan(records);
    await until(() => relay.stats().hooks!.timedOut >= 2, 5000, 'two timeouts');
    const h = relay.stats().hooks!;
    expect(h.workerRestarts).toBeGreaterThanOrEqual(2);
    expect(h.dropped).toBeGreaterThan(0);
    expect(errors(log).some((l) => /did not finish within 200 ms/.test(String(l.error)))).toBe(true);
    expect(log.lines.some((l) => l.level === 40 && /hook queue full/.test(l.msg ?? ''))).toBe(true);
    console.log(`hooks: ${records} records delivered in ${deliveredMs.toFixed(0)} ms while the hook looped forever`);
  });

  it('contains process.exit in a hook to its worker, and later calls run on a new worker', async () => {
    const { dir, rx, relay, log, records } = await withHook(
      (d) => `import { appendFileSync } from 'node:fs';
        export function onJobComplete(ev) {
          if (ev.jobId % 50 === 1) process.exit(3);
          appendFileSync(${JSON.stringify(join(d, 'calls.txt'))}, ev.jobId + '\\n');
        }`,
    );
    await relay.drained();
    expect(rx.stored).toHaveLength(records);
    await until(() => (relay.stats().hooks?.completed ?? 0) + (relay.stats().hooks?.failed ?? 0) === records, 20_000, 'all hook calls');
    const h = relay.stats().hooks!;
    expect(h.failed).toBe(4); // jobs 1, 51, 101, 151
    expect(h.completed).toBe(records - 4);
    expect(h.workerRestarts).toBeGreaterThanOrEqual(4);
    expect(readFileSync(join(dir, 'calls.txt'), 'utf8').trim().split('\n')).toHaveLength(records - 4);
    expect(errors(log).some((l) => /hook worker exited/.test(l.msg ?? '') && l.exitCode === 3)).toBe(true);
  });

  it('counts a call\'s timeout from the module\'s load, not from a worker still starting', async () => {
    // a module that takes 800 ms to load, calls of 300 ms at most: none times out, though the first waits for the load
    const { relay, records } = await withHook(() => `await new Promise((r) => setTimeout(r, 800));\nexport function onJobComplete() {}`, { records: 5, timeoutMs: 300 });
    await relay.drained();
    await until(() => (relay.stats().hooks?.completed ?? 0) + (relay.stats().hooks?.failed ?? 0) === records, 10_000, 'all hook calls');
    expect(relay.stats().hooks).toMatchObject({ completed: records, failed: 0, timedOut: 0, workerRestarts: 0 });
  });

  it('logs a hook module that does not load and keeps delivering', async () => {
    const { rx, relay, log, records } = await withHook(() => `export function onJobComplete( {`);
    await relay.drained();
    expect(rx.stored).toHaveLength(records);
    await until(() => errors(log).some((l) => /hook module failed to load/.test(l.msg ?? '')), 5000, 'the load error');
  });
});
