// metrics.ts - Prometheus metrics of the ingest endpoint, on a registry the
// caller owns (never prom-client's global default registry).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface IngestMetrics {
  /** Requests to POST /v1/events by answer: ok, bad_request, unauthorized, forbidden, too_large, unavailable, error. */
  batches: Counter<'result'>;
  /** Records of accepted batches: stored, duplicate, rejected. */
  records: Counter<'outcome'>;
  authFailures: Counter<'reason'>;
  requestSeconds: Histogram<'result'>;
  /** Per spool (host, daemon, spool id), as of its last accepted batch. */
  spool: SpoolGauges;
}

type SpoolLabel = 'host' | 'daemon' | 'spool';
export interface SpoolGauges {
  /** Records appended to the spool since it was made (the relay's reading when it sent the batch). */
  appended: Gauge<SpoolLabel>;
  /** Records of the spool the ingest holds: the last seq of the last accepted batch + 1. */
  delivered: Gauge<SpoolLabel>;
  /** appended - delivered. */
  backlogRecords: Gauge<SpoolLabel>;
  /** Spool bytes written and not yet acked (the relay's reading). */
  backlogBytes: Gauge<SpoolLabel>;
  /** Unix time of the spool's last accepted batch. */
  lastBatch: Gauge<SpoolLabel>;
}

function gauge(registry: Registry, name: string, help: string): Gauge<SpoolLabel> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Gauge<SpoolLabel>;
  return new Gauge({ name, help, labelNames: ['host', 'daemon', 'spool'], registers: [registry] });
}

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as Counter<L>;
  return new Counter({ name, help, labelNames, registers: [registry] });
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const hist = 'gridlink_ingest_request_seconds';
  return {
    batches: counter(registry, 'gridlink_ingest_batches_total', 'Event batches received, by answer', ['result']),
    records: counter(registry, 'gridlink_ingest_records_total', 'Records of accepted batches, by outcome', ['outcome']),
    authFailures: counter(registry, 'gridlink_ingest_auth_failures_total', 'Requests refused by authentication, by reason', ['reason']),
    spool: {
      appended: gauge(registry, 'gridlink_spool_appended_records', 'Records appended to each spool since it was made, as its relay read it at its last accepted batch (from relays that send it)'),
      delivered: gauge(registry, 'gridlink_spool_delivered_records', 'Records of each spool held by the ingest: the last seq of its last accepted batch + 1 (seqs start at 0)'),
      backlogRecords: gauge(registry, 'gridlink_spool_backlog_records', 'Records of each spool appended and not yet delivered, as of its last accepted batch'),
      backlogBytes: gauge(registry, 'gridlink_spool_backlog_bytes', 'Bytes of each spool written and not yet acked, as its relay read it at its last accepted batch'),
      lastBatch: gauge(registry, 'gridlink_spool_last_batch_timestamp_seconds', 'Unix time of the last batch of each spool the ingest accepted'),
    },
    requestSeconds:
      (registry.getSingleMetric(hist) as Histogram<'result'> | undefined) ??
      new Histogram({
        name: hist,
        help: 'Time from request to answer (includes the durable commit)',
        labelNames: ['result'],
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
  };
}
