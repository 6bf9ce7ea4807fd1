// metrics.ts - the relay's Prometheus metrics, on a registry of its own (never
// the global default). Without a registry (the embedded runtime, which has no
// /metrics endpoint) they are no-ops and prom-client is never loaded: every
// MB counts inside slurmctld and slurmd.
import { createRequire } from 'node:module';

import type { Counter, Gauge, Registry } from 'prom-client';

export interface RelayMetrics {
  /** Where the metrics are; undefined when the relay keeps none. */
  registry: Registry | undefined;
  relayed: Pick<Counter, 'inc'>;
  quarantined: Pick<Counter<'reason'>, 'inc'>;
  retries: Pick<Counter, 'inc'>;
  backlogBytes: Pick<Gauge, 'set'>;
  lastSuccess: Pick<Gauge, 'set'>;
  hookDropped: Pick<Counter, 'inc'>;
  hookFailures: Pick<Counter<'handler'>, 'inc'>;
}

const noop = { inc() {}, set() {} };

export function createRelayMetrics(registry?: Registry): RelayMetrics {
  if (!registry)
    return { registry, relayed: noop, quarantined: noop, retries: noop, backlogBytes: noop, lastSuccess: noop, hookDropped: noop, hookFailures: noop };
  const prom = createRequire(import.meta.url)('prom-client') as typeof import('prom-client');
  const registers = [registry];
  return {
    registry,
    relayed: new prom.Counter({ name: 'gridlink_relay_records_relayed_total', help: 'Records the reporter durably accepted (stored or duplicate)', registers }),
    quarantined: new prom.Counter({
      name: 'gridlink_relay_records_quarantined_total',
      help: 'Records written to the quarantine file instead of being relayed',
      labelNames: ['reason'] as const,
      registers,
    }),
    retries: new prom.Counter({ name: 'gridlink_relay_retries_total', help: 'Failed delivery attempts that will be retried', registers }),
    backlogBytes: new prom.Gauge({ name: 'gridlink_relay_backlog_bytes', help: 'Spool bytes written but not yet acked', registers }),
    lastSuccess: new prom.Gauge({ name: 'gridlink_relay_last_success_timestamp_seconds', help: 'Unix time of the last batch the reporter accepted', registers }),
    hookDropped: new prom.Counter({ name: 'gridlink_relay_hook_events_dropped_total', help: 'Hook calls dropped because the hook queue was full', registers }),
    hookFailures: new prom.Counter({
      name: 'gridlink_relay_hook_failures_total',
      help: 'Hook calls that threw, timed out or ended the hook worker',
      labelNames: ['handler'] as const,
      registers,
    }),
  };
}
