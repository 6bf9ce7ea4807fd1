// runner.ts - a claimed job's way into SLURM, one step at a time, each step's
// outcome recorded before the next:
//
//   claimed: resolve the customer's user, fetch the script (sbatch service),
//            build the request (exactly the paid resources)
//   -> submitting (written BEFORE the submission: a crash after it is found)
//   -> submit as the customer -> submitted + the job map entry, one transaction
//
// A claim found in `submitting` (a crash, or a submission whose answer was
// lost) is first looked up in SLURM and in the stored plugin events by its job
// name (the grid job id): found, it is adopted, never submitted twice.
//
// Outcomes other than a submission: SLURM refused it -> refuseJob (back to
// PENDING for another provider); the script is gone, the definition cannot
// run or 0 minutes were paid -> FAILED with lastError; the directory, the
// sbatch service or slurmctld unreachable (or the sbatch service failing on
// its side: INTERNAL, UNKNOWN) -> retried with backoff, the claim kept (a job
// is never submitted as anyone but its customer), each retry first checked on
// chain: a job the chain took back (the oracle's timeout) is not submitted.
import type { Address, Hex } from 'viem';
import type { Logger } from 'pino';

import { encodeRefuseJob } from '../metascheduler/actions/refuseJob.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import { JobStatus } from '../metascheduler/status.js';
import type { Reporter } from '../reporter/service.js';
import { SlurmBackendError, type SlurmBackend } from '../slurm/backend.js';
import { stmt } from '../state/db.js';
import { backoffMs } from '../util/backoff.js';
import type { TxPipeline } from '../txpipeline/index.js';
import { shortError } from '../txpipeline/errors.js';
import type { Claim, Claims } from './claim-store.js';
import type { SupervisorMetrics } from './metrics.js';
import { REFUSE_TX_KIND } from './tx-outcomes.js';
import { buildSubmitRequest, JobInputError, type SubmitSettings } from './submit-request.js';
import { UserResolveError, type UserResolver } from './users.js';

/**
 * Closes a claim that never reached SLURM with a cold status of 0 minutes
 * (FAILED, or CANCELLED for a cancellation claimed first): the job map entry
 * (no SLURM id), the report and the claim state in one transaction. False
 * when the claim had moved on meanwhile.
 */
export function closeUnsubmitted(
  reporter: Pick<Reporter, 'db' | 'addJob' | 'reports'>,
  claims: Claims,
  c: Claim,
  state: 'failed' | 'cancelled',
  status: JobStatus,
  reason: string,
): boolean {
  return reporter.db.transaction(() => {
    if (!claims.transition(c.id, ['claimed', 'submitting'], state, reason)) return false;
    reporter.addJob({ gridJobId: c.gridJobId, slurmJobId: null, customer: c.customer, maxMinutes: c.maxMinutes, claimBlock: c.block });
    reporter.reports.plan({ gridJobId: c.gridJobId, status, minutes: 0, lastError: reason.slice(0, 1000) });
    return true;
  })();
}

/** The sbatch service as the runner needs it (src/sbatch/client.ts). */
export interface ScriptSource {
  fetchScript(p: { batchLocationHash: string; customer: Address; jobId: Hex }): Promise<{ sbatch: string }>;
}

/** Errors of a ScriptSource carry a kind: `unavailable` is retried, anything else fails the job. */
const scriptErrorKind = (err: unknown): string => (err as { kind?: string }).kind ?? 'unavailable';

export interface RunnerOptions {
  claims: Claims;
  reporter: Pick<Reporter, 'db' | 'addJob' | 'reports' | 'jobs'>;
  pipeline: Pick<TxPipeline<MetaSchedulerError>, 'submit'>;
  metaScheduler: Address;
  backend: SlurmBackend;
  users: UserResolver;
  scripts: ScriptSource;
  settings: SubmitSettings;
  /** Claims worked on at once. */
  concurrency: number;
  /** After a submission that may have reached slurmctld without an answer, how long before SLURM is searched for it (and it is submitted again if absent). */
  uncertainGraceMs: number;
  /** First retry delay; doubles up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  log: Logger;
  metrics: SupervisorMetrics;
  /**
   * The job's status and provider on chain. A claim retried (the directory,
   * the sbatch service or slurmctld was down) is checked before it is
   * submitted: the oracle may have timed it out meanwhile.
   */
  chainJob?: (gridJobId: Hex) => Promise<{ status: JobStatus; provider: Address }>;
  /** This provider. */
  provider?: Address;
  /** Test hook: called at the named points of a claim's way (crash tests kill the process there). */
  checkpoint?: (point: 'before-submit' | 'after-submit', claim: Claim) => void;
}

export class Runner {
  private readonly running = new Map<number, Promise<void>>();
  private stopping = false;

  constructor(private readonly opts: RunnerOptions) {}

  /** No new claim is started; those in progress finish (see settled()). */
  stop(): void {
    this.stopping = true;
  }

  /** Resolves when every claim in progress is done. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /**
   * Starts work on due claims, up to the concurrency, without waiting for
   * them; `onDone` is called as each finishes. Returns how many were started.
   */
  start(onDone?: () => void, now = Date.now()): number {
    if (this.stopping) return 0;
    const room = this.opts.concurrency - this.running.size;
    if (room <= 0) return 0;
    const due = this.opts.claims.due(now, room + this.running.size).filter((c) => !this.running.has(c.id)).slice(0, room);
    for (const c of due) {
      const p = this.work(c).finally(() => {
        this.running.delete(c.id);
        onDone?.();
      });
      this.running.set(c.id, p);
    }
    return due.length;
  }

  /** Starts due claims and waits for them (tests, and one-shot use). */
  async round(now = Date.now()): Promise<number> {
    const n = this.start(undefined, now);
    await this.settled();
    return n;
  }

  private async work(c: Claim): Promise<void> {
    try {
      await this.step(c);
    } catch (err) {
      this.opts.log.error({ gridJobId: c.gridJobId, claim: c.id, err: shortError(err) }, 'supervisor: unexpected error working on a claim; retried later');
      this.retry(c, `unexpected: ${shortError(err)}`);
    }
  }

  private retry(c: Claim, error: string): void {
    this.opts.claims.retryLater(c.id, error, Date.now() + backoffMs(c.attempts, this.opts.backoffMs, this.opts.maxBackoffMs));
  }

  private async step(c: Claim): Promise<void> {
    const o = this.opts;
    const log = o.log.child({ gridJobId: c.gridJobId, customer: c.customer, claim: c.id });

    // 0. A retried claim never submitted: still this provider's job on chain? (a claim found `submitting`
    //    is checked after step 2: a job that reached SLURM is adopted, never left running unbilled.)
    if (c.state === 'claimed' && c.attempts > 0 && !(await this.stillOurs(c, log))) return;

    // 1. The customer's user: never anyone else.
    const t0 = Date.now();
    let user;
    try {
      user = await o.users.resolve(c.customer);
    } catch (err) {
      const e = err instanceof UserResolveError ? err : new UserResolveError(shortError(err), true);
      o.metrics.claimErrors.inc({ step: 'user' });
      if (!e.retryable) {
        // No user this customer may run as, and waiting will not make one: the job fails (and is refunded) rather than hold the claim forever.
        log.error({ err: e.message }, 'supervisor: the customer has no usable Linux user; the job fails');
        this.fail(c, `no usable Linux user for the customer: ${e.message}`);
        return;
      }
      log.error({ err: e.message }, 'supervisor: cannot resolve the customer\'s Linux user yet; the claim is kept and retried');
      this.retry(c, `user: ${e.message}`);
      return;
    }

    // 2. A submission that may have happened (a crash, a lost answer: the claim stayed `submitting`): find it first.
    if (c.state === 'submitting') {
      const found = await this.findSubmitted(c, user.uid).catch((err: unknown) => {
        this.retry(c, `looking the job up in SLURM: ${shortError(err)}`);
        log.warn({ err: shortError(err) }, 'supervisor: cannot look the claim up in SLURM yet; retrying');
        return null;
      });
      if (found === null) return;
      if (found !== undefined) {
        log.warn({ slurmJobId: found }, 'supervisor: claim found already submitted (crash or lost answer): adopted, not submitted again');
        this.recordSubmitted(c, found);
        return;
      }
    }

    // 3. A submission that may have happened and was not found: still this provider's job on chain?
    if (c.state === 'submitting' && !(await this.stillOurs(c, log))) return;

    // 4. The script.
    const t1 = Date.now();
    let script: string;
    try {
      script = (await o.scripts.fetchScript({ batchLocationHash: c.definition.batchLocationHash, customer: c.customer, jobId: c.gridJobId })).sbatch;
    } catch (err) {
      o.metrics.claimErrors.inc({ step: 'script' });
      // unavailable: down, failing on its side (INTERNAL, UNKNOWN: its chain read failed) or refusing its own
      // challenge; retried until the chain takes the job back (step 0 at each retry). unauthenticated can be
      // a service whose chain node lags behind the claim: a few retries first. Anything else is definite.
      const kind = scriptErrorKind(err);
      if (kind === 'unavailable' || (kind === 'unauthenticated' && c.attempts < 3)) {
        log.warn({ err: shortError(err), kind }, 'supervisor: job script not fetched yet; the claim is kept and retried');
        this.retry(c, `script: ${shortError(err)}`);
        return;
      }
      this.fail(c, `job script unavailable from the sbatch service: ${shortError(err)}`);
      return;
    }

    // 5. The request: exactly what was paid for.
    const t2 = Date.now();
    let req;
    try {
      const minutes = c.maxMinutes + o.claims.unappliedTopUpMinutes(c.gridJobId);
      req = buildSubmitRequest({ gridJobId: c.gridJobId, definition: c.definition, minutes, user, script, settings: o.settings });
    } catch (err) {
      if (err instanceof JobInputError) {
        this.fail(c, err.message);
        return;
      }
      throw err;
    }

    // 6. Submit, with `submitting` on disk first.
    if (this.stopping) return;
    // Only the job's newest claim, only from claimed/submitting (a cancellation or a newer claim
    // closed it meanwhile). Should this process die during the submission, the claim is looked at
    // again only after the grace: a submission in flight (ssh) must reach slurmctld first.
    if (!o.claims.isLatest(c.id, c.gridJobId) || !o.claims.transition(c.id, ['claimed', 'submitting'], 'submitting', undefined, Date.now() + o.uncertainGraceMs)) {
      log.info('supervisor: claim closed while it was prepared (cancelled, or the job was claimed again); not submitted');
      return;
    }
    o.checkpoint?.('before-submit', c);
    let jobId: number;
    try {
      ({ jobId } = await o.backend.submit(req));
    } catch (err) {
      if (err instanceof SlurmBackendError && err.kind === 'refused') {
        log.warn({ err: err.message }, 'supervisor: SLURM refused the job; refusing it on chain');
        await this.refuse(c, `SLURM refused the job: ${err.message}`);
        return;
      }
      // The request may have reached slurmctld, or still be on its way: the claim stays `submitting`
      // and is looked up, after the grace, before any new submission.
      o.metrics.claimErrors.inc({ step: 'submit' });
      log.warn({ err: shortError(err), lookAgainInMs: o.uncertainGraceMs }, 'supervisor: submission failed; the claim is kept and looked up in SLURM before any new submission');
      o.claims.retryLater(c.id, `submit: ${shortError(err)}`, Date.now() + Math.max(o.uncertainGraceMs, backoffMs(c.attempts, o.backoffMs, o.maxBackoffMs)));
      return;
    }
    const t3 = Date.now();
    o.checkpoint?.('after-submit', c);
    this.recordSubmitted(c, jobId);
    o.metrics.claimToSubmit.observe((Date.now() - c.seenAt) / 1000);
    log.info(
      { slurmJobId: jobId, user: user.name, uid: user.uid, minutes: req.timeLimitMinutes, ms: { queued: t0 - c.seenAt, user: t1 - t0, script: t2 - t1, submit: t3 - t2 } },
      'supervisor: job submitted to SLURM as its customer',
    );
  }

  /**
   * A retried claim may have been taken back on chain meanwhile (oracle timeout, customer cancel): the
   * chain's deadline bounds every retry (an sbatch service failing for good, a user never made). False
   * when the claim was closed, or retried later because the chain could not be read.
   */
  private async stillOurs(c: Claim, log: Logger): Promise<boolean> {
    const o = this.opts;
    if (!o.chainJob) return true;
    let onChain;
    try {
      onChain = await o.chainJob(c.gridJobId);
    } catch (err) {
      this.retry(c, `reading the job on chain: ${shortError(err)}`);
      return false;
    }
    if (onChain.status === JobStatus.SCHEDULED && (!o.provider || onChain.provider.toLowerCase() === o.provider.toLowerCase())) return true;
    const why = `the job left SCHEDULED for this provider on chain (now ${JobStatus[onChain.status]}) before it could be submitted; not submitted`;
    log.warn({ chainStatus: JobStatus[onChain.status] }, `supervisor: ${why}`);
    if (o.claims.transition(c.id, ['claimed', 'submitting'], 'cancelled', why)) o.metrics.outcomes.inc({ outcome: 'taken_back' });
    return false;
  }

  /**
   * SLURM's id of the job of this claim if it was submitted, undefined if not:
   * a job of that name, run as that uid, submitted after the claim was seen
   * (anyone can name a job after a grid job id; only root can give it the
   * customer's uid). Finished and purged by slurmctld, the plugins' stored
   * records still name it.
   */
  private async findSubmitted(c: Claim, uid: number): Promise<number | undefined> {
    const name = c.gridJobId.toLowerCase();
    const after = Math.floor(c.seenAt / 1000) - 60;
    const inSlurm = (await this.opts.backend.list()).filter((j) => j.name === name && j.userId === uid && (j.submitTime === 0 || j.submitTime >= after));
    if (inSlurm.length > 0) return Math.max(...inSlurm.map((j) => j.jobId));
    const row = stmt(
      this.opts.reporter.db,
      `SELECT max(job_id) AS id FROM events WHERE json_extract(event, '$.jobName') = ? AND json_extract(event, '$.userId') = ? AND json_extract(event, '$.submitTime') >= ?`,
    ).get(name, uid, after) as { id: number | null };
    return row.id ?? undefined;
  }

  private recordSubmitted(c: Claim, slurmJobId: number): void {
    const o = this.opts;
    const now = Date.now();
    o.reporter.db.transaction(() => {
      const minutes = c.maxMinutes + o.claims.unappliedTopUpMinutes(c.gridJobId);
      // slurmctld lost its state and reused an id: the newest submission owns it.
      const displaced = o.reporter.jobs.releaseSlurmId(slurmJobId, c.gridJobId);
      if (displaced) o.log.error({ slurmJobId, gridJobId: c.gridJobId, displaced }, 'supervisor: SLURM reused a job id already mapped to another grid job (slurmctld lost its state?); the older mapping is dropped');
      o.reporter.addJob({ gridJobId: c.gridJobId, slurmJobId, customer: c.customer, maxMinutes: minutes, claimBlock: c.block, submittedAt: Math.floor(now / 1000) });
      o.claims.markMinutesApplied(c.gridJobId);
      o.claims.setState(c.id, 'submitted', { slurmJobId, submittedAt: now, lastError: null });
    })();
    o.metrics.outcomes.inc({ outcome: 'submitted' });
  }

  /** The job can never run here: FAILED on chain, 0 minutes, with the reason. */
  private fail(c: Claim, reason: string): void {
    const o = this.opts;
    o.log.error({ gridJobId: c.gridJobId, claim: c.id, reason }, 'supervisor: job cannot run; reporting FAILED');
    if (closeUnsubmitted(o.reporter, o.claims, c, 'failed', JobStatus.FAILED, reason)) o.metrics.outcomes.inc({ outcome: 'failed' });
  }

  /** refuseJob through the shared pipeline; the claim is `refused` in the transaction that signs it. */
  private async refuse(c: Claim, reason: string): Promise<void> {
    const o = this.opts;
    const call = encodeRefuseJob({ metaScheduler: o.metaScheduler }, { jobId: c.gridJobId });
    const [out] = await o.pipeline.submit([{ kind: REFUSE_TX_KIND, ref: String(c.id), ...call }], {
      onSigned: () => o.claims.setState(c.id, 'refused', { lastError: reason }),
    });
    if (!out || (!out.ok && 'retry' in out)) {
      this.retry(c, `refuseJob: ${out && !out.ok && 'retry' in out ? out.retry.message : 'no outcome'}`);
      return;
    }
    if (!out.ok) {
      o.log.warn({ gridJobId: c.gridJobId, err: out.revert.message }, 'supervisor: refuseJob reverted (the job moved on chain meanwhile); claim closed');
      o.claims.setState(c.id, 'refused', { lastError: `${reason}; refuseJob reverted: ${out.revert.message}` });
    }
    o.metrics.outcomes.inc({ outcome: 'refused' });
  }
}
