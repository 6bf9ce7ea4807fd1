// metrics.ts - the relay's Prometheus metrics, on a registry of its own (never the global default).
import { Counter, Gauge, Registry } from 'prom-client';

export interface RelayMetrics {
  registry: Registry;
  relayed: Counter;
  quarantined: Counter<'reason'>;
  retries: Counter;
  backlogBytes: Gauge;
  lastSuccess: Gauge;
  hookDropped: Counter;
  hookFailures: Counter<'handler'>;
}

export function createRelayMetrics(registry: Registry = new Registry()): RelayMetrics {
  const registers = [registry];
  return {
    registry,
    relayed: new Counter({ name: 'gridlink_relay_records_relayed_total', help: 'Records the reporter durably accepted (stored or duplicate)', registers }),
    quarantined: new Counter({
      name: 'gridlink_relay_records_quarantined_total',
      help: 'Records written to the quarantine file instead of being relayed',
      labelNames: ['reason'] as const,
      registers,
    }),
    retries: new Counter({ name: 'gridlink_relay_retries_total', help: 'Failed delivery attempts that will be retried', registers }),
    backlogBytes: new Gauge({ name: 'gridlink_relay_backlog_bytes', help: 'Spool bytes written but not yet acked', registers }),
    lastSuccess: new Gauge({ name: 'gridlink_relay_last_success_timestamp_seconds', help: 'Unix time of the last batch the reporter accepted', registers }),
    hookDropped: new Counter({ name: 'gridlink_relay_hook_events_dropped_total', help: 'Hook calls dropped because the hook queue was full', registers }),
    hookFailures: new Counter({
      name: 'gridlink_relay_hook_failures_total',
      help: 'Hook calls that threw, timed out or ended the hook worker',
      labelNames: ['handler'] as const,
      registers,
    }),
  };
}
