// End to end with the reporter's real ingest endpoint (src/reporter/ingest):
// munge and HMAC batches land durably, in order, once; a spool resent from an
// older copy only adds duplicates; a record the reporter rejects is quarantined.
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { STATE_MIGRATIONS } from '../../src/compose/state-schema.js';
import { SpoolWriter, decodeBytes } from '../../src/native/index.js';
import { startRelay } from '../../src/relay/relay.js';
import { ackedSeq, appendJobs, captureLog, completion, readJsonLines, relayConfig, tempDir } from './helpers.js';
import { skipReason } from '../helpers/skip-reason.js';

const ingestDir = new URL('../../src/reporter/ingest/index.ts', import.meta.url);
const haveIngest = existsSync(ingestDir);

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function startIngest(root: string, key: string) {
  const ingest = (await import(ingestDir.href)) as typeof import('../../src/reporter/ingest/index.js');
  const keyFile = join(root, 'ingest.key');
  writeFileSync(keyFile, key, { mode: 0o600 });
  const config = ingest.resolveIngestConfig({ listen: { host: '127.0.0.1', port: 0 }, storeDir: join(root, 'store'), hmacKeys: [{ keyId: 'site-b', keyFile }] });
  const server = await ingest.startIngestServer(config, { logger: captureLog().logger, migrations: STATE_MIGRATIONS });
  cleanups.push(() => server.stop(2000));
  return server;
}

async function storedRecords(server: Awaited<ReturnType<typeof startIngest>>) {
  const out = [];
  for await (const { record } of server.store.events()) out.push(record);
  return out;
}

describe.skipIf(!haveIngest)(`relay -> real ingest endpoint${skipReason(haveIngest, 'src/reporter/ingest is not in this tree')}`, () => {
  it('munge and hmac relays deliver durably, in order, once; a resent older spool copy only counts duplicates; rejected records are quarantined', async () => {
    const t = tempDir('gl-e2e-');
    cleanups.push(t.cleanup);
    const key = `${'5e'.repeat(32)}\n`;
    const server = await startIngest(t.dir, key);

    // slurmctld spool, munge: 1,500 records, one of them with bytes that are not UTF-8
    const ctld = join(t.dir, 'ctld');
    appendJobs(ctld, 1000, 1);
    const w = new SpoolWriter(ctld);
    const odd = Buffer.from([0x6a, 0xff, 0xfe, 0x0a, 0x22]);
    w.append(completion(1001, { jobName: odd, comment: '{"kind":1}\n' }));
    w.close();
    appendJobs(ctld, 499, 1002);
    const before = join(t.dir, 'ctld-copy');
    cpSync(ctld, before, { recursive: true }); // what the spool looked like before anything was acked

    const r1 = startRelay(relayConfig(ctld, server.url, { daemon: 'slurmctld', host: 'ctl1' }), { logger: captureLog().logger });
    cleanups.push(() => r1.stop());
    const t0 = performance.now();
    await r1.drained();
    const ms = performance.now() - t0;
    expect(ackedSeq(ctld)).toBe(1500);

    // slurmd spool on a host outside the munge realm: hmac
    const keyFile = join(t.dir, 'relay.key');
    writeFileSync(keyFile, key, { mode: 0o600 });
    const node = join(t.dir, 'node');
    appendJobs(node, 200, 5000);
    const r2 = startRelay(relayConfig(node, server.url, { daemon: 'slurmd', host: 'n1', auth: { kind: 'hmac', keyFile, keyId: 'site-b' } }), {
      logger: captureLog().logger,
    });
    cleanups.push(() => r2.stop());
    await r2.drained();
    expect(ackedSeq(node)).toBe(200);

    let stored = await storedRecords(server);
    const ctldRecs = stored.filter((r) => r.host === 'ctl1');
    expect(ctldRecs.map((r) => Number(r.seq))).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(ctldRecs.every((r) => r.daemon === 'slurmctld')).toBe(true);
    expect(ctldRecs[1000]!.event.jobName).toBe(decodeBytes(odd));
    expect(ctldRecs[1000]!.event.comment).toBe('{"kind":1}\n');
    const nodeRecs = stored.filter((r) => r.host === 'n1');
    expect(nodeRecs.map((r) => r.event.jobId)).toEqual(Array.from({ length: 200 }, (_, i) => 5000 + i));

    // A relay that crashed before its acks resends what the reporter already has: duplicates, nothing stored twice.
    const r3 = startRelay(relayConfig(before, server.url, { daemon: 'slurmctld', host: 'ctl1' }), { logger: captureLog().logger });
    cleanups.push(() => r3.stop());
    await r3.drained();
    expect(r3.stats().relayed).toBe(1500);
    stored = await storedRecords(server);
    expect(stored).toHaveLength(1700);

    // A record the reporter finds malformed (kind 9 is outside the protocol) is quarantined; its neighbours are stored.
    const w2 = new SpoolWriter(node);
    w2.append(completion(6000));
    w2.append({ ...completion(6001), kind: 9 });
    w2.append(completion(6002));
    w2.close();
    await r2.drained();
    const q = readJsonLines(relayConfig(node, server.url).quarantineFile);
    expect(q).toHaveLength(1);
    expect(q[0]).toMatchObject({ seq: '201', record: { jobId: 6001, kind: 9 } });
    expect(String(q[0]!.reason)).toMatch(/^reporter rejected the record: .*kind/);
    expect((await storedRecords(server)).filter((r) => r.host === 'n1').map((r) => r.event.jobId).slice(-2)).toEqual([6000, 6002]);
    expect(ackedSeq(node)).toBe(203);
    console.log(`relay -> ingest: 1500 records (munge, 500/batch, fsync'd by the reporter) in ${ms.toFixed(0)} ms`);
  });
});
