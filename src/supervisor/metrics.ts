// metrics.ts - the supervisor's Prometheus metrics (the reporter, the ingest
// and the transaction pipeline register theirs on the same registry).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { formatUnits } from 'viem';

import { CANCEL_ESCALATE_AFTER } from './cancel-escalation.js';
import type { Claims } from './claim-store.js';

export interface SupervisorMetrics {
  claimsSent: Counter<'queue'>;
  claimsSeen: Counter<'queue'>;
  staleHead: Counter;
  claimErrors: Counter<'step'>;
  outcomes: Counter<'outcome'>;
  actions: Counter<'kind' | 'outcome'>;
  claimToSubmit: Histogram;
  queue: Gauge<'queue'>;
  registered: Gauge<'state'>;
}

export function createSupervisorMetrics(registry: Registry, claims: Claims): SupervisorMetrics {
  const reg = [registry];
  new Gauge({
    name: 'gridlink_claims',
    help: 'Claimed grid jobs in the store by state (claimed, submitting, submitted, refused, failed, cancelled)',
    labelNames: ['state'],
    registers: reg,
    collect() {
      for (const [state, n] of Object.entries(claims.counts())) this.set({ state }, n);
    },
  });
  new Gauge({
    name: 'gridlink_cancellations_stuck',
    help: `Customer cancellations whose SLURM job could not be cancelled in ${CANCEL_ESCALATE_AFTER} or more attempts (the job keeps running; retried every minute)`,
    registers: reg,
    collect() {
      this.set(claims.stuckCancellations(CANCEL_ESCALATE_AFTER));
    },
  });
  return {
    claimsSent: new Counter({ name: 'gridlink_claim_transactions_total', help: 'Claim transactions signed and sent, by queue (claimable, cancelling, topup)', labelNames: ['queue'], registers: reg }),
    claimsSeen: new Counter({ name: 'gridlink_claims_seen_total', help: 'Claim events of this provider recorded from the chain, by queue', labelNames: ['queue'], registers: reg }),
    staleHead: new Counter({
      name: 'gridlink_stale_claimable_head_total',
      help: 'Times the head of the claimable queue was found stale (claimNextJob reverts for a job that left META_SCHEDULED): claiming new jobs pauses until the queue changes',
      registers: reg,
    }),
    claimErrors: new Counter({ name: 'gridlink_claim_errors_total', help: 'Retried failures while running a claimed job, by step (user, script, submit)', labelNames: ['step'], registers: reg }),
    outcomes: new Counter({ name: 'gridlink_claim_outcomes_total', help: 'Claimed jobs by outcome (submitted, refused, failed, cancelled)', labelNames: ['outcome'], registers: reg }),
    actions: new Counter({ name: 'gridlink_job_actions_total', help: 'Cancellations and top-ups applied to SLURM jobs, by kind and outcome', labelNames: ['kind', 'outcome'], registers: reg }),
    claimToSubmit: new Histogram({
      name: 'gridlink_claim_to_submit_seconds',
      help: 'From reading a claim event to the SLURM submission',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
      registers: reg,
    }),
    queue: new Gauge({ name: 'gridlink_provider_queue_length', help: 'Length of the provider\'s queues on chain at the last read', labelNames: ['queue'], registers: reg }),
    registered: new Gauge({ name: 'gridlink_provider_registration', help: '1 for the provider\'s current registration state (none, waiting, joined, banned)', labelNames: ['state'], registers: reg }),
  };
}

/**
 * `gridlink_provider_credits`: the provider's credit balance, read from the
 * Credit token at each scrape (one eth_call; a failed read leaves the series
 * out of that scrape, logged by the caller's `onError`). What the provider was
 * paid over a time is its increase: `increase(gridlink_provider_credits[1h])`.
 */
export function registerProviderCredits(registry: Registry, read: () => Promise<bigint>, onError: (err: unknown) => void): void {
  new Gauge({
    name: 'gridlink_provider_credits',
    help: 'The provider\'s credit balance (credits, 18 decimals) read from the chain at scrape time; its increase is what the provider was paid',
    registers: [registry],
    async collect() {
      try {
        this.set(Number(formatUnits(await read(), 18)));
      } catch (err) {
        this.reset();
        onError(err);
      }
    },
  });
}
