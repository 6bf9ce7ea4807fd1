// metrics.ts - the chain reporter's Prometheus metrics (the ingest and the
// transaction pipeline register their own on the same registry).
import { Counter, Gauge, type Registry } from 'prom-client';

import { ALL_JOB_STATUSES, jobStatusName } from '../metascheduler/status.js';
import type { JobMap } from './jobmap.js';
import type { Reports } from './reports.js';

export interface ReporterMetrics {
  events: Counter<'outcome'>;
  planned: Counter<'status'>;
  sent: Counter<'status'>;
  confirmed: Counter<'status'>;
  done: Counter<'reason'>;
  parked: Counter<'error'>;
  reconciled: Counter<'outcome'>;
}

export function createReporterMetrics(registry: Registry, reports: Reports, jobs: JobMap): ReporterMetrics {
  const reg = [registry];
  new Gauge({
    name: 'gridlink_jobs',
    help: 'Grid jobs in the job map by chain status, as this store saw it mined (SCHEDULED: submitted, no status mined yet)',
    labelNames: ['status'],
    registers: reg,
    collect() {
      const n = new Map(jobs.chainStatusCounts().map((r) => [r.status, r.n]));
      // Every status from SCHEDULED on, 0 included: a panel shows a status that has no job yet as 0, not as no data.
      for (const s of ALL_JOB_STATUSES.filter((s) => s >= 2)) this.set({ status: jobStatusName(s) }, n.get(s) ?? 0);
    },
  });
  new Gauge({
    name: 'gridlink_reports',
    help: 'Reports in the store by state (planned, signed, mined, confirmed, done, parked)',
    labelNames: ['state'],
    registers: reg,
    collect() {
      for (const [state, n] of Object.entries(reports.counts())) this.set({ state }, n);
    },
  });
  return {
    events: new Counter({ name: 'gridlink_reporter_events_total', help: 'Stored job events derived by the reporter, by outcome (planned, duplicate, unmapped, requeued, ignored)', labelNames: ['outcome'], registers: reg }),
    planned: new Counter({ name: 'gridlink_reports_planned_total', help: 'Reports planned, by chain status', labelNames: ['status'], registers: reg }),
    sent: new Counter({ name: 'gridlink_reports_sent_total', help: 'Reports signed and broadcast, by chain status', labelNames: ['status'], registers: reg }),
    confirmed: new Counter({ name: 'gridlink_reports_confirmed_total', help: 'Reports confirmed at the configured depth, by chain status', labelNames: ['status'], registers: reg }),
    done: new Counter({ name: 'gridlink_reports_done_total', help: 'Reports closed without a transaction of theirs (the chain already had the status, or the job was already final)', labelNames: ['reason'], registers: reg }),
    parked: new Counter({ name: 'gridlink_reports_parked_total', help: 'Reports parked with a decoded revert an operator must look at, by error name', labelNames: ['error'], registers: reg }),
    reconciled: new Counter({ name: 'gridlink_reconcile_total', help: 'Reconciliation findings, by outcome', labelNames: ['outcome'], registers: reg }),
  };
}
