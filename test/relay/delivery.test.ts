// The relay against a protocol-faithful fake receiver: order, exactly-once
// delivery, acks only after a 200, quarantine, retries, timeouts, 413.
import { appendFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { SpoolReader, SpoolWriter, decodeBytes, encodeBytes } from '../../src/native/index.js';
import { backoffDelay } from '../../src/relay/jittered-backoff.js';
import { startRelay, type Relay } from '../../src/relay/relay.js';
import { FakeReceiver } from './fake-receiver.js';
import { frame } from '../native/helpers.js';
import { ackedSeq, appendJobs, captureLog, completion, readJsonLines, relayConfig, tempDir, until } from './helpers.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function setup(opts: { receiver?: ConstructorParameters<typeof FakeReceiver>[0]; start?: boolean } = {}) {
  const t = tempDir();
  const rx = new FakeReceiver(opts.receiver);
  await rx.start();
  cleanups.push(t.cleanup, () => rx.stop());
  if (opts.start === false) await rx.stop();
  return { dir: t.dir, rx };
}

function run(cfg: Parameters<typeof startRelay>[0]): { relay: Relay; log: ReturnType<typeof captureLog> } {
  const log = captureLog();
  const relay = startRelay(cfg, { logger: log.logger });
  cleanups.push(() => relay.stop());
  return { relay, log };
}

const seqsOf = (rx: FakeReceiver) => rx.stored.map((r) => Number(r.seq));
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

describe('relay delivery', () => {
  it('delivers 2,000 records in order, exactly once, across several munge-authenticated batches', async () => {
    const { dir, rx } = await setup({ receiver: { verify: { kind: 'munge' } } });
    appendJobs(dir, 2000);
    const { relay } = run(relayConfig(dir, rx.url, { batchMaxRecords: 300 }));
    const t0 = performance.now();
    await relay.drained();
    const ms = performance.now() - t0;
    expect(seqsOf(rx)).toEqual(range(0, 2000));
    expect(rx.stored.map((r) => r.jobId)).toEqual(range(1, 2001));
    expect(rx.duplicates).toBe(0);
    expect(rx.requests.every((r) => r.authOk && r.status === 200)).toBe(true);
    expect(rx.requests.length).toBe(7); // 6 x 300 + 200
    for (const r of rx.requests) expect(r.batch).toMatchObject({ host: 'testhost', daemon: 'slurmctld' });
    expect(ackedSeq(dir)).toBe(2000);
    expect(relay.stats()).toMatchObject({ relayed: 2000, quarantined: 0, retries: 0, consecutiveFailures: 0, backlogBytes: 0 });
    console.log(`relay: 2000 records drained in ${ms.toFixed(0)} ms (${Math.round(2000 / (ms / 1000))} records/s, munge, 300/batch)`);
  });

  it('carries bytes that are not UTF-8 losslessly and wakes on an append within milliseconds', async () => {
    const { dir, rx } = await setup();
    const { relay } = run(relayConfig(dir, rx.url, { pollIntervalMs: 60_000 }));
    await relay.drained(); // caught up (empty spool), now idle on a 60 s poll
    const name = Buffer.from([0x66, 0x6f, 0xff, 0xfe, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x6f]);
    const comment = Buffer.from('line1\n"quoted"\\ {"kind":3}');
    const w = new SpoolWriter(dir);
    const t0 = Date.now();
    w.append(completion(7, { jobName: name, comment }));
    w.close();
    await until(() => rx.stored.length === 1, 3000, 'the appended record');
    expect(Date.now() - t0).toBeLessThan(1000); // fs.watch, not the 60 s poll
    const got = rx.stored[0]!;
    expect(got.jobName).toBe(decodeBytes(name));
    expect(encodeBytes(got.jobName).equals(name)).toBe(true);
    expect(got.comment).toBe(comment.toString());
    expect(got.writeTimeNs).toMatch(/^\d{18,20}$/);
  });

  it('keeps retrying while the receiver refuses connections, acks nothing, then delivers all once', async () => {
    const { dir, rx } = await setup({ start: false });
    appendJobs(dir, 700);
    const { relay, log } = run(relayConfig(dir, rx.url, { batchMaxRecords: 200 }));
    await until(() => relay.stats().retries >= 4, 10_000, 'retries');
    expect(ackedSeq(dir)).toBe(0);
    expect(relay.stats().relayed).toBe(0);
    expect(relay.stats().lastError).toMatch(/ECONNREFUSED/);
    expect(log.lines.some((l) => l.level === 40 && /reporter at http:\/\/127\.0\.0\.1:\d+ is up/.test(l.msg ?? ''))).toBe(true);
    await rx.start(); // same port
    await relay.drained();
    expect(seqsOf(rx)).toEqual(range(0, 700));
    expect(rx.duplicates).toBe(0);
    expect(ackedSeq(dir)).toBe(700);
  });

  it('retries after 500s and moves the ack only after a 200', async () => {
    const acksSeen: number[] = [];
    const { dir, rx } = await setup({
      receiver: {
        script: (_req, n) => {
          acksSeen.push(ackedSeq(dir));
          return n <= 2 ? { status: 500, body: 'disk full' } : 'ingest';
        },
      },
    });
    appendJobs(dir, 10);
    const { relay } = run(relayConfig(dir, rx.url));
    await relay.drained();
    expect(rx.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(acksSeen).toEqual([0, 0, 0]);
    expect(ackedSeq(dir)).toBe(10);
    expect(seqsOf(rx)).toEqual(range(0, 10));
    expect(relay.stats().retries).toBe(2);
  });

  it('quarantines a whole batch the receiver answers 400 for, with the reason, and acks it', async () => {
    const { dir, rx } = await setup({
      receiver: { script: (_r, n) => (n === 1 ? { status: 400, body: '{"error":"records[2]: bad shape"}' } : 'ingest') },
    });
    appendJobs(dir, 10);
    const cfg = relayConfig(dir, rx.url, { batchMaxRecords: 4 });
    const { relay } = run(cfg);
    await relay.drained();
    const q = readJsonLines(cfg.quarantineFile);
    expect(q.map((e) => e.seq)).toEqual(['0', '1', '2', '3']);
    for (const e of q) {
      expect(e.reason).toMatch(/\(400\).*records\[2\]: bad shape/);
      expect(e).toMatchObject({ spoolId: expect.stringMatching(/^[0-9a-f]{32}$/), record: { jobId: expect.any(Number) } });
    }
    expect(seqsOf(rx)).toEqual(range(4, 10));
    expect(ackedSeq(dir)).toBe(10);
    expect(relay.stats()).toMatchObject({ quarantined: 4, relayed: 6 });
  });

  it('quarantines only the records a 200 lists as rejected and acks the batch', async () => {
    const { dir, rx } = await setup({ receiver: { script: (_r, n) => (n === 1 ? { rejectIndexes: [1, 3], reason: 'jobId unknown' } : 'ingest') } });
    appendJobs(dir, 6);
    const cfg = relayConfig(dir, rx.url);
    const { relay } = run(cfg);
    await relay.drained();
    const q = readJsonLines(cfg.quarantineFile);
    expect(q.map((e) => e.seq)).toEqual(['1', '3']);
    expect(q[0]!.reason).toMatch(/rejected the record: jobId unknown/);
    expect(q[0]!.record).toMatchObject({ seq: '1', jobId: 2 });
    expect(seqsOf(rx)).toEqual([0, 2, 4, 5]);
    expect(ackedSeq(dir)).toBe(6);
    expect(rx.requests.length).toBe(1);
  });

  it('on 401 retries without acking or quarantining, and logs what to check', async () => {
    const { dir, rx } = await setup({ receiver: { script: () => ({ status: 401, body: 'bad credential' }) } });
    appendJobs(dir, 5);
    const cfg = relayConfig(dir, rx.url);
    const { relay, log } = run(cfg);
    await until(() => rx.requests.length >= 4, 10_000, '4 attempts');
    expect(ackedSeq(dir)).toBe(0);
    expect(existsSync(cfg.quarantineFile)).toBe(false);
    expect(relay.stats()).toMatchObject({ relayed: 0, quarantined: 0 });
    expect(relay.stats().retries).toBeGreaterThanOrEqual(3);
    expect(log.lines.some((l) => /munge key/.test(l.msg ?? '') && /HTTP 401/.test(String(l.error)))).toBe(true);
    // every attempt carries a fresh credential (munge refuses a replayed one)
    expect(new Set(rx.requests.map((r) => r.auth)).size).toBe(rx.requests.length);
    rx.setScript(() => 'ingest');
    await relay.drained();
    expect(seqsOf(rx)).toEqual(range(0, 5));
  });

  it('abandons a request the receiver does not answer within requestTimeoutMs and retries it', async () => {
    const { dir, rx } = await setup({ receiver: { script: (_r, n) => (n === 1 ? { hangMs: 1500 } : 'ingest') } });
    appendJobs(dir, 3);
    const { relay } = run(relayConfig(dir, rx.url, { requestTimeoutMs: 300 }));
    const t0 = Date.now();
    await relay.drained();
    expect(Date.now() - t0).toBeLessThan(1400); // did not wait for the hung answer
    expect(seqsOf(rx)).toEqual([0, 1, 2]);
    expect(relay.stats().retries).toBe(1);
    expect(ackedSeq(dir)).toBe(3);
  });

  it.each([1, 4])('halves the batch on 413 until the receiver takes it, keeping order (%i in flight)', async (batchesInFlight) => {
    const { dir, rx } = await setup({ receiver: { script: (req) => ((req.batch?.records.length ?? 0) > 100 ? { status: 413 } : 'ingest') } });
    appendJobs(dir, 500);
    const { relay } = run(relayConfig(dir, rx.url, { batchMaxRecords: 500, batchesInFlight }));
    await relay.drained();
    // Each round starts with the batch after the ack; pipelined ones after a 413 are dropped with it.
    const heads = rx.requests.filter((r) => (r.batch?.records[0] as { seq: string }).seq === '0').map((r) => r.batch?.records.length);
    expect(heads).toEqual([500, 250, 125, 62]);
    expect(relay.stats().batchMaxRecords).toBe(62);
    expect(seqsOf(rx)).toEqual(range(0, 500));
    expect(rx.duplicates).toBe(0);
    expect(relay.stats().quarantined).toBe(0);
  });

  it('pipelines batches on one connection and acks them in order', async () => {
    // The first answer comes late: the next batches are sent meanwhile.
    const { dir, rx } = await setup({ receiver: { script: (_r, n) => (n === 1 ? { delayMs: 1000 } : 'ingest') } });
    appendJobs(dir, 1000);
    const { relay } = run(relayConfig(dir, rx.url, { batchMaxRecords: 100, batchesInFlight: 4 }));
    await relay.drained();
    expect(rx.requests.slice(0, 4).map((r) => (r.batch?.records[0] as { seq: string }).seq)).toEqual(['0', '100', '200', '300']);
    expect(rx.requests[3]!.at - rx.requests[0]!.at).toBeLessThan(1000); // sent before the first answer
    // A new round whenever nothing was on its way; each one numbered from 0 in send order.
    const rounds = new Map<string, number[]>();
    for (const r of rx.requests) rounds.set(r.batch!.pipeline!.round, [...(rounds.get(r.batch!.pipeline!.round) ?? []), r.batch!.pipeline!.index]);
    for (const idx of rounds.values()) expect(idx).toEqual(range(0, idx.length));
    expect(rx.requests.slice(0, 4).map((r) => r.batch?.pipeline?.index)).toEqual([0, 1, 2, 3]);
    expect(seqsOf(rx)).toEqual(range(0, 1000));
    expect(rx.duplicates).toBe(0);
    expect(ackedSeq(dir)).toBe(1000);
    expect(relay.stats()).toMatchObject({ relayed: 1000, batches: 10, retries: 0 });
  });

  it('after a failed batch in the middle of a pipeline stores nothing out of order, loses nothing, duplicates nothing', async () => {
    // Request 3 fails; 4 and 5 are on the same connection behind it (the receiver refuses them, as the reporter does).
    const { dir, rx } = await setup({ receiver: { script: (_r, n) => (n === 3 ? { status: 500 } : n === 1 ? { delayMs: 200 } : 'ingest') } });
    appendJobs(dir, 1000);
    const { relay } = run(relayConfig(dir, rx.url, { batchMaxRecords: 100, batchesInFlight: 4, backoff: { initialMs: 10, maxMs: 20, factor: 2 } }));
    await relay.drained();
    expect(rx.requests.slice(0, 4).map((r) => r.status)).toEqual([200, 200, 500, 503]);
    expect(seqsOf(rx)).toEqual(range(0, 1000)); // stored order is spool order
    expect(rx.duplicates).toBe(0);
    expect(ackedSeq(dir)).toBe(1000);
    expect(relay.stats()).toMatchObject({ relayed: 1000, retries: 1 });
  });

  it('stop() finishes a batch answered within the grace period, and abandons one that is not, without acking it', async () => {
    const { dir, rx } = await setup({ receiver: { script: (_r, n) => (n === 1 ? { hangMs: 300 } : { delayMs: 150 }) } });
    appendJobs(dir, 5);
    // request 1 gets no answer for 300 ms: stop() with a 100 ms grace abandons it, unacked
    const a = run(relayConfig(dir, rx.url, { requestTimeoutMs: 10_000 }));
    await until(() => rx.requests.length === 1, 5000, 'the first request');
    const t0 = Date.now();
    await a.relay.stop({ graceMs: 100 });
    expect(Date.now() - t0).toBeLessThan(250);
    expect(ackedSeq(dir)).toBe(0);
    // request 2 is stored after 150 ms: stop() with a 1 s grace waits for it and acks
    const b = run(relayConfig(dir, rx.url, { requestTimeoutMs: 10_000 }));
    await until(() => rx.requests.length === 2, 5000, 'the second request');
    await b.relay.stop({ graceMs: 1000 });
    expect(seqsOf(rx)).toEqual(range(0, 5));
    expect(ackedSeq(dir)).toBe(5);
    expect(b.relay.stats().relayed).toBe(5);
  });

  it('lets one relay drain a spool at a time; a second one waits and takes over when the first stops', async () => {
    const { dir, rx } = await setup();
    appendJobs(dir, 50);
    const a = run(relayConfig(dir, rx.url));
    await a.relay.drained();
    const b = run(relayConfig(dir, rx.url));
    await b.relay.drained(); // it finds the spool taken: nothing to do for it
    const refused = b.log.lines.find((l) => l.level === 50 && /another relay drains this spool/.test(l.msg ?? ''));
    expect((refused as { error?: string } | undefined)?.error).toMatch(/in use by process \d+.*; one relay drains a spool: stop the other relay/);
    appendJobs(dir, 10, 51);
    await a.relay.drained();
    await a.relay.stop();
    appendJobs(dir, 10, 61);
    await until(() => rx.stored.length === 70, 5000, 'the second relay to take over');
    // stored at the receiver comes before the relay has taken the answer and acked (counted): wait for that
    await b.relay.drained();
    expect(rx.stored.map((r) => r.jobId)).toEqual(range(1, 71));
    expect(rx.duplicates).toBe(0);
    expect(b.relay.stats().relayed).toBe(10);
  });

  it('backs off exponentially with full jitter, capped', () => {
    const p = { initialMs: 200, maxMs: 30_000, factor: 2 };
    expect([0, 1, 2, 3].map((a) => backoffDelay(p, a, () => 0.999999))).toEqual([199, 399, 799, 1599]);
    expect(backoffDelay(p, 20, () => 0.999999)).toBe(29_999);
    expect(backoffDelay(p, 1000, () => 0.5)).toBe(15_000);
    expect(backoffDelay(p, 5, () => 0)).toBe(0);
  });

  it('quarantines records the spool reader cannot decode, with their payload, and delivers the rest', async () => {
    const { dir, rx } = await setup();
    appendJobs(dir, 2, 1);
    const r = new SpoolReader(dir);
    const spoolId = Buffer.from(r.stat().spoolId, 'hex');
    r.close();
    const payload = Buffer.alloc(160); // long enough to pass the frame check; format version 0: unknown to the decoder
    payload.writeBigUInt64LE(77n, 8);
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    appendFileSync(seg, frame(spoolId, payload));
    appendJobs(dir, 2, 3);
    const cfg = relayConfig(dir, rx.url);
    const { relay } = run(cfg);
    await relay.drained();
    expect(rx.stored.map((x) => x.jobId)).toEqual([1, 2, 3, 4]);
    const q = readJsonLines(cfg.quarantineFile);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ reason: 'undecodable spool record: unknown format version', seq: '77', payloadBase64: payload.toString('base64') });
    expect(ackedSeq(dir)).toBe(4);
  });
});
