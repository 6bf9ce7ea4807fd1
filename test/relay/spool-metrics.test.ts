// The ingest's per-spool gauges (src/reporter/ingest/spool-metrics.ts) from
// a real relay delivering a real spool: appended and delivered records, the
// backlog and the time of the last batch, labelled by host, daemon and spool
// id; a batch without the relay's spool reading (an older relay) sets only
// what the ingest knows itself.
import { join } from 'node:path';

import { afterEach, expect, it } from 'vitest';

import { STATE_MIGRATIONS } from '../../src/compose/state-schema.js';
import { SpoolReader } from '../../src/native/index.js';
import { startRelay } from '../../src/relay/relay.js';
import { resolveIngestConfig, startIngestServer } from '../../src/reporter/ingest/index.js';
import { appendJobs, captureLog, relayConfig, tempDir } from './helpers.js';

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function gauges(registry: { metrics(): Promise<string> }, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    const m = new RegExp(`^${name}\\{(.*)\\} (\\S+)$`).exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

it('exports each spool\'s appended, delivered and backlog records, unacked bytes and last batch time', async () => {
  const t = tempDir('gl-spool-metrics-');
  cleanups.push(t.cleanup);
  const server = await startIngestServer(resolveIngestConfig({ listen: { host: '127.0.0.1', port: 0 }, storeDir: join(t.dir, 'store') }), { logger: captureLog().logger, migrations: STATE_MIGRATIONS });
  cleanups.push(() => server.stop(2000));
  const spool = join(t.dir, 'spool');
  appendJobs(spool, 30, 1);
  const spoolId = new SpoolReader(spool).stat().spoolId;
  const before = Date.now() / 1000;
  const relay = startRelay(relayConfig(spool, server.url, { daemon: 'slurmctld', host: 'ctl1', batchMaxRecords: 7 }), { logger: captureLog().logger });
  cleanups.push(() => relay.stop());
  await relay.drained();

  const labels = `host="ctl1",daemon="slurmctld",spool="${spoolId}"`;
  expect((await gauges(server.registry, 'gridlink_spool_appended_records')).get(labels)).toBe(30);
  expect((await gauges(server.registry, 'gridlink_spool_delivered_records')).get(labels)).toBe(30);
  expect((await gauges(server.registry, 'gridlink_spool_backlog_records')).get(labels)).toBe(0);
  // Read when the last batch (records 29 and 30) was sent: the acks before it moved, its own had not.
  const bytes = (await gauges(server.registry, 'gridlink_spool_backlog_bytes')).get(labels)!;
  expect(bytes).toBeGreaterThan(0);
  const last = (await gauges(server.registry, 'gridlink_spool_last_batch_timestamp_seconds')).get(labels)!;
  expect(last).toBeGreaterThanOrEqual(before);
  expect(last).toBeLessThanOrEqual(Date.now() / 1000);
});
