// metrics.ts - Prometheus metrics of the ingest endpoint, on a registry the
// caller owns (never prom-client's global default registry).
import { Counter, Histogram, Registry } from 'prom-client';

export interface IngestMetrics {
  /** Requests to POST /v1/events by answer: ok, bad_request, unauthorized, forbidden, too_large, unavailable, error. */
  batches: Counter<'result'>;
  /** Records of accepted batches: stored, duplicate, rejected. */
  records: Counter<'outcome'>;
  authFailures: Counter<'reason'>;
  requestSeconds: Histogram<'result'>;
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
