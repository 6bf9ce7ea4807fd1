// spool-metrics.ts - the per-spool gauges of an accepted batch: what its relay
// read of the spool when it sent it (appended records, unacked bytes) and
// what the ingest now holds of it (the batch's last seq + 1: seqs start at
// 0, so both are counts of records). One series per
// (host, daemon, spool id); a relay too old to send the spool's reading
// leaves appended and the backlog unset.
import type { EventBatch, IngestResult, WireEvent } from '../../relay/protocol.js';
import type { SpoolGauges } from './metrics.js';

export function observeSpool(g: SpoolGauges, b: Pick<EventBatch, 'host' | 'daemon' | 'spoolId' | 'spool'>, valid: readonly WireEvent[], rejected: IngestResult['rejected']): void {
  const labels = { host: b.host, daemon: b.daemon, spool: b.spoolId };
  // The relay acks the whole batch (rejected records go to its quarantine): its last seq is delivered.
  let last = -1n;
  for (const seq of [...valid.map((e) => e.seq), ...rejected.flatMap((r) => (r.seq !== undefined && /^\d{1,20}$/.test(r.seq) ? [r.seq] : []))]) {
    const n = BigInt(seq);
    if (n > last) last = n;
  }
  const delivered = last + 1n;
  if (delivered > 0n) g.delivered.set(labels, Number(delivered));
  g.lastBatch.set(labels, Date.now() / 1000);
  if (!b.spool) return;
  const appended = BigInt(b.spool.appended);
  g.appended.set(labels, Number(appended));
  g.backlogBytes.set(labels, b.spool.backlogBytes);
  if (delivered > 0n) g.backlogRecords.set(labels, Number(appended > delivered ? appended - delivered : 0n));
}
