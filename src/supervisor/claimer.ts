// claimer.ts - how many claim transactions to send, and sending them: each
// round reads the three queue lengths (one block, eth_call) and sends, per
// queue, as many claims as there are queued entries not already covered by a
// claim of ours in flight, in one batch through the shared transaction
// pipeline (claims and status reports share one nonce sequence). What a claim
// got is learnt from its log (chain-logs.ts), not from here.
//
// A stale head of the claimable queue (deployed contracts: a job that left
// META_SCHEDULED stays queued and every claimNextJob reverts) is detected in
// the pipeline's simulation, logged loudly, counted, and not retried until the
// queue length changes or `staleRecheckMs` passed; cancellations and top-ups
// keep flowing.
import type { Address } from 'viem';
import type { Logger } from 'pino';

import { encodeClaimNextCancellingJob } from '../metascheduler/actions/claimNextCancellingJob.js';
import { encodeClaimNextJob, isEmptyQueueError, isStaleClaimableHeadError } from '../metascheduler/actions/claimNextJob.js';
import { encodeClaimNextTopUpJob } from '../metascheduler/actions/claimNextTopUpJob.js';
import { getJobQueueSizes, type JobQueueSizes } from '../metascheduler/actions/getJobQueueSizes.js';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../metascheduler/context.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import type { EncodedCall } from '../metascheduler/types.js';
import type { TxPipeline } from '../txpipeline/index.js';
import type { SupervisorMetrics } from './metrics.js';

export type Queue = 'claimable' | 'cancelling' | 'topup';

/** Each queue's claim transaction (the actions' pure encoders). */
const ENCODE_CLAIM: Record<Queue, (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>) => EncodedCall> = {
  claimable: encodeClaimNextJob,
  cancelling: encodeClaimNextCancellingJob,
  topup: encodeClaimNextTopUpJob,
};

export const CLAIM_TX_KIND = 'claim';

export interface ClaimerOptions {
  ctx: MetaSchedulerContext;
  provider: Address;
  pipeline: Pick<TxPipeline<MetaSchedulerError>, 'submit' | 'get' | 'unconfirmed'>;
  maxPerRound: number;
  staleRecheckMs: number;
  log: Logger;
  metrics: SupervisorMetrics;
  /** Reads the queue lengths (default: getJobQueueSizes at the latest block). */
  queueSizes?: () => Promise<JobQueueSizes & { block: bigint }>;
}

export interface StaleHead {
  since: number;
  queueLength: number;
  error: string;
}

export class Claimer {
  private readonly inFlight: Record<Queue, number[]> = { claimable: [], cancelling: [], topup: [] };
  private stale: StaleHead | undefined;
  private seq = 0;
  private lastSizes: (JobQueueSizes & { block: bigint }) | undefined;

  constructor(private readonly opts: ClaimerOptions) {
    // Claims sent before a restart and not settled yet are still in flight: not sent again.
    for (const t of opts.pipeline.unconfirmed(CLAIM_TX_KIND)) {
      const q = t.ref.split(':')[0] as Queue;
      if (q in this.inFlight) this.inFlight[q].push(t.id);
    }
  }

  /** The stale claimable head currently blocking new claims, if any. */
  staleHead(): StaleHead | undefined {
    return this.stale;
  }

  /** Claim transactions of a queue not yet counted in a queue length read at `block`. */
  private pending(q: Queue, block: bigint): number {
    const live: number[] = [];
    let n = 0;
    for (const id of this.inFlight[q]) {
      const t = this.opts.pipeline.get(id);
      if (!t) continue;
      // Not mined yet, or mined after the block the lengths were read at (whatever its state since:
      // at confirmation depth 1 a mined claim is confirmed at once).
      if (t.state === 'pending' || (t.state !== 'lost' && t.minedBlock !== undefined && t.minedBlock > block)) {
        live.push(id);
        n++;
      }
    }
    this.inFlight[q] = live;
    return n;
  }

  private async sizes(): Promise<JobQueueSizes & { block: bigint }> {
    if (this.opts.queueSizes) return this.opts.queueSizes();
    const block = await this.opts.ctx.publicClient.getBlockNumber();
    // The lengths at a block do not change: read once per block, not once per round (an idle
    // supervisor polls several times a block; a reorg at the same height is read at the next block).
    if (this.lastSizes?.block !== block) this.lastSizes = { ...(await getJobQueueSizes(this.opts.ctx, { provider: this.opts.provider, blockNumber: block })), block };
    return this.lastSizes;
  }

  /** One round; returns the claim transactions sent per queue. */
  async round(now = Date.now()): Promise<Record<Queue, number>> {
    const sizes = await this.sizes();
    const length: Record<Queue, number> = { claimable: sizes.claimable, cancelling: sizes.cancelling, topup: sizes.topUp };
    const sent: Record<Queue, number> = { claimable: 0, cancelling: 0, topup: 0 };
    for (const q of ['cancelling', 'topup', 'claimable'] as const) {
      this.opts.metrics.queue.set({ queue: q }, length[q]);
      let n = length[q] - this.pending(q, sizes.block);
      if (q === 'claimable' && this.stale) {
        if (length[q] === 0 || length[q] !== this.stale.queueLength) {
          this.opts.log.warn({ queueLength: length[q] }, 'supervisor: the claimable queue changed since its head was found stale; claiming again');
          this.stale = undefined;
        } else if (now - this.stale.since < this.opts.staleRecheckMs) continue;
        else n = 1; // one probe, not a loop
      }
      if (n <= 0) continue;
      sent[q] = await this.send(q, Math.min(n, this.opts.maxPerRound), length[q], now);
    }
    return sent;
  }

  private async send(q: Queue, n: number, queueLength: number, now: number): Promise<number> {
    const o = this.opts;
    const call = ENCODE_CLAIM[q](o.ctx.addresses);
    const reqs = Array.from({ length: n }, () => ({ kind: CLAIM_TX_KIND, ref: `${q}:${now}:${this.seq++}`, ...call }));
    const outs = await o.pipeline.submit(reqs);
    let ok = 0;
    let staleSeen = false;
    for (const out of outs) {
      if (out.ok) {
        this.inFlight[q].push(out.txId);
        ok++;
      } else if ('revert' in out) {
        if (q === 'claimable' && isStaleClaimableHeadError(out.revert)) staleSeen = true;
        else if (!isEmptyQueueError(out.revert)) o.log.warn({ queue: q, err: out.revert.message }, 'supervisor: claim simulation reverted');
      } else {
        o.log.warn({ queue: q, err: out.retry.message }, 'supervisor: claim not sent (chain or pipeline busy); next round');
        break;
      }
    }
    if (staleSeen && ok === 0) {
      const first = !this.stale;
      const revert = outs.find((x): x is Extract<typeof x, { revert: unknown }> => !x.ok && 'revert' in x);
      this.stale = { since: now, queueLength, error: revert?.revert.message ?? 'stale head' };
      o.metrics.staleHead.inc();
      o.log.error(
        { queueLength, recheckInMs: o.staleRecheckMs, err: this.stale.error, firstDetection: first },
        'supervisor: STALE CLAIMABLE QUEUE HEAD: claimNextJob reverts because the job at the head of this provider\'s claimable queue left META_SCHEDULED (cancelled or timed out) and the deployed contracts do not skip it; ' +
          'every new job behind it is blocked until the grid operator clears the queue. Claiming new jobs is paused (one probe per recheck interval or when the queue length changes); cancellations and top-ups continue.',
      );
    }
    if (ok > 0) o.metrics.claimsSent.inc({ queue: q }, ok);
    return ok;
  }
}
