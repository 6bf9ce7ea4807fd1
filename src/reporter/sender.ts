// sender.ts - puts planned reports on chain through the shared transaction
// pipeline, and turns what happens to their transactions (mined, confirmed,
// reorged out, reverted, nonce lost) into report states. Revert decisions:
//
//   SameStatusError                      done: the chain already has this status
//   JobHotStatusOnly (already cold)      done; the job is flagged for scancel
//                                        (the supervisor stops it if it still runs)
//   InvalidTransition SCHEDULED -> cold  RUNNING is (re)planned first, the cold
//                                        report waits for it, then goes
//   anything else                        parked with the decoded error (log,
//                                        metric, `gridlink reports --parked`)
import type { Address, Hex } from 'viem';
import type { Logger } from 'pino';

import { encodeProviderSetJobStatus } from '../metascheduler/actions/providerSetJobStatus.js';
import { chainCapMinutes } from '../metascheduler/billing.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import { JobStatus, isCold, jobStatusName } from '../metascheduler/status.js';
import type { Db } from '../state/db.js';
import type { JobMap } from './jobmap.js';
import type { ReporterMetrics } from './metrics.js';
import type { Report, Reports } from './reports.js';
import type { SubmitOptions, SubmitOutcome, TxEvent, TxRequest } from '../txpipeline/index.js';

export const REPORT_TX_KIND = 'report';

/** What the sender needs of the pipeline (the TxPipeline; a fake in unit tests). */
export interface PipelinePort {
  submit(reqs: TxRequest[], opts?: SubmitOptions): Promise<SubmitOutcome<MetaSchedulerError>[]>;
  on(kind: string, handler: (ev: TxEvent<MetaSchedulerError>) => void): void;
  inFlight(): number;
}

/** Chain reads the sender needs to cap billed minutes. */
export interface ChainReads {
  /** time.start (unix s, 0 if never RUNNING) and status of a job on chain. */
  jobStart(gridJobId: Hex): Promise<{ status: JobStatus; start: bigint }>;
  /** Timestamp of the latest block. */
  latestTimestamp(): Promise<bigint>;
}

export interface ReportSenderOptions {
  db: Db;
  reports: Reports;
  jobs: JobMap;
  pipeline: PipelinePort;
  chain: ChainReads;
  metaScheduler: Address;
  billDurationDeltaMinute: bigint;
  log: Logger;
  metrics?: ReporterMetrics | undefined;
  /** Reports handed to the pipeline per round (default 200). */
  batchSize?: number;
  /** No new submissions while the pipeline has this many unconfirmed transactions (default 2000). */
  maxInFlight?: number;
}

export class ReportSender {
  private readonly opts: Required<Omit<ReportSenderOptions, 'metrics'>> & { metrics: ReporterMetrics | undefined };
  private retryLoggedAt = 0;

  constructor(opts: ReportSenderOptions) {
    this.opts = { batchSize: 200, maxInFlight: 2000, ...opts, metrics: opts.metrics };
    opts.pipeline.on(REPORT_TX_KIND, (ev) => this.onTxEvent(ev));
  }

  /**
   * One round: up to batchSize ready reports simulated, signed and broadcast
   * by the pipeline. Returns how many reports it handled (0: nothing to do,
   * or the pipeline is full, or the chain is unreachable).
   */
  async round(): Promise<number> {
    const { reports, pipeline } = this.opts;
    const room = this.opts.maxInFlight - pipeline.inFlight();
    if (room <= 0) return 0;
    const ready = reports.ready(Math.min(this.opts.batchSize, room));
    if (ready.length === 0) return 0;
    let reqs: TxRequest[];
    try {
      reqs = await this.requests(ready);
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'reporter: cannot read the chain to size reports; retrying');
      return 0;
    }
    // The report becomes 'signed' in the same SQLite transaction that stores its signed
    // transaction: killed at any instant, a report is planned with no transaction or signed with one.
    const onSigned = (_req: TxRequest, tx: { id: number }, i: number) => reports.setState(ready[i]!.id, 'signed', { txId: tx.id });
    const outcomes = await pipeline.submit(reqs, { onSigned });
    let retry = 0;
    this.opts.db.transaction(() => {
      outcomes.forEach((out, i) => {
        const r = ready[i]!;
        if (out.ok) {
          this.opts.metrics?.sent.inc({ status: jobStatusName(r.status) });
        } else if ('revert' in out) {
          this.onRevert(r, out.revert, 'simulation');
        } else {
          retry++;
        }
      });
    })();
    if (retry > 0 && Date.now() - this.retryLoggedAt >= 30_000) {
      // Every round retries while the chain is away: say so once per 30 s, not ten times a second.
      this.retryLoggedAt = Date.now();
      const err = (outcomes.find((o) => !o.ok && 'retry' in o) as { retry: Error } | undefined)?.retry.message;
      this.opts.log.warn({ reports: retry, err }, 'reporter: chain unreachable, reports stay planned and are retried');
    } else if (retry === 0) this.retryLoggedAt = 0;
    return ready.length - retry;
  }

  /** Transaction requests for reports, cold ones with minutes capped at what the contract accepts now. */
  private async requests(rs: Report[]): Promise<TxRequest[]> {
    const needCap = rs.some((r) => isCold(r.status) && r.minutes > 0);
    const now = needCap ? await this.opts.chain.latestTimestamp() : 0n;
    const out: TxRequest[] = [];
    for (const r of rs) {
      let minutes = BigInt(r.minutes);
      if (isCold(r.status) && minutes > 0n) {
        const job = this.opts.jobs.get(r.gridJobId);
        let start = job?.chainStart != null ? BigInt(job.chainStart) : undefined;
        if (start === undefined) {
          const onChain = await this.opts.chain.jobStart(r.gridJobId);
          start = onChain.start;
          if (start > 0n) this.opts.jobs.setChainStart(r.gridJobId, Number(start));
        }
        const cap = start > 0n ? chainCapMinutes(start, now, this.opts.billDurationDeltaMinute) : undefined;
        if (cap !== undefined && minutes > cap) minutes = cap;
      }
      const call = encodeProviderSetJobStatus(
        { metaScheduler: this.opts.metaScheduler },
        { jobId: r.gridJobId, status: r.status, durationMinutes: minutes, lastError: r.lastError, exitCode: r.exitCode },
      );
      out.push({ kind: REPORT_TX_KIND, ref: String(r.id), ...call });
    }
    return out;
  }

  /** Decides what a revert means for a report (runs inside a SQLite transaction). */
  onRevert(r: Report, err: MetaSchedulerError, where: 'simulation' | 'mined'): void {
    const { reports, jobs, log, metrics } = this.opts;
    const ctx = { reportId: r.id, gridJobId: r.gridJobId, status: jobStatusName(r.status), where, error: err.name };
    if (err.is('SameStatusError')) {
      reports.setState(r.id, 'done', { reason: `the chain already has ${jobStatusName(r.status)}` });
      log.info(ctx, 'reporter: status already on chain, report done');
      return void metrics?.done.inc({ reason: 'same_status' });
    }
    if (err.is('JobHotStatusOnly')) {
      reports.setState(r.id, 'done', { reason: `the job is already final on chain (${jobStatusName(err.args.current)})` });
      jobs.markCancelSlurm(r.gridJobId);
      log.warn({ ...ctx, chainStatus: jobStatusName(err.args.current) }, 'reporter: job already final on chain; report dropped, the SLURM job is flagged for cancellation');
      return void metrics?.done.inc({ reason: 'already_cold' });
    }
    if (err.is('InvalidTransition') && err.args.from === JobStatus.SCHEDULED && isCold(err.args.to) && r.status !== JobStatus.RUNNING) {
      const running = reports.forJob(r.gridJobId).find((x) => x.status === JobStatus.RUNNING);
      if (!running) reports.plan({ gridJobId: r.gridJobId, status: JobStatus.RUNNING, eventId: r.eventId });
      else if (running.state !== 'planned' && running.state !== 'signed') reports.replan(running.id, 'the chain is still SCHEDULED');
      if (r.state !== 'planned') reports.replan(r.id, 'waiting for RUNNING on chain');
      log.info(ctx, 'reporter: job still SCHEDULED on chain; RUNNING goes first');
      return;
    }
    reports.setState(r.id, 'parked', { reason: err.message });
    log.error({ ...ctx, reason: err.message }, 'reporter: report parked; see `gridlink reports --parked`');
    metrics?.parked.inc({ error: err.name });
  }

  /** A pipeline event for a report transaction (runs inside the pipeline's SQLite transaction). */
  onTxEvent(ev: TxEvent<MetaSchedulerError>): void {
    const { reports, jobs, metrics } = this.opts;
    const r = reports.get(Number(ev.tx.ref));
    if (!r) return void this.opts.log.error({ tx: ev.tx }, 'reporter: transaction event for an unknown report');
    switch (ev.type) {
      case 'mined':
        if (r.state === 'planned' || r.state === 'signed') reports.setState(r.id, 'mined', { txId: ev.tx.id, minedBlock: Number(ev.block) });
        if (r.status === JobStatus.RUNNING) jobs.setChainStart(r.gridJobId, Number(ev.timestamp));
        return;
      case 'confirmed':
        if (r.state !== 'done' && r.state !== 'parked') {
          reports.setState(r.id, 'confirmed', { txId: ev.tx.id, minedBlock: Number(ev.block) });
          metrics?.confirmed.inc({ status: jobStatusName(r.status) });
        }
        return;
      case 'unmined':
        if (r.state === 'mined') reports.setState(r.id, 'signed', { minedBlock: null });
        if (r.status === JobStatus.RUNNING) jobs.setChainStart(r.gridJobId, null);
        return;
      case 'reverted':
        return this.onRevert(r, ev.error, 'mined');
      case 'lost':
        this.opts.log.warn({ reportId: r.id, nonce: ev.tx.nonce }, 'reporter: the transaction of a report was lost (its nonce used by another transaction, or refused by the node for good); the report is planned again');
        if (!['done', 'parked', 'confirmed'].includes(r.state)) reports.replan(r.id, `transaction at nonce ${ev.tx.nonce} lost (nonce used by another transaction, or refused by the node for good)`);
        return;
      default:
        return;
    }
  }
}
