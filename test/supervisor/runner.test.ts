// The runner's decisions with fakes for SLURM, the sbatch service and users
// (the real ones run in e2e.test.ts and crash.test.ts): exactly one
// submission per claim, adoption after a crash, refusal, failure, retries.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { status as grpcStatus } from '@grpc/grpc-js';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Hex } from 'viem';
import { beforeEach, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { JobMap } from '../../src/reporter/jobmap.js';
import { Reports } from '../../src/reporter/reports.js';
import { toSbatchError } from '../../src/sbatch/errors.js';
import { SlurmBackendError, type SlurmBackend, type SlurmJob, type SubmitRequest } from '../../src/slurm/backend.js';
import { type Db } from '../../src/state/db.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { Claims } from '../../src/supervisor/claim-store.js';
import { JobActions } from '../../src/supervisor/job-actions.js';
import { createSupervisorMetrics } from '../../src/supervisor/metrics.js';
import { Runner, type ScriptSource } from '../../src/supervisor/runner.js';
import { UserResolveError, type UserResolver } from '../../src/supervisor/users.js';
import type { TxRequest } from '../../src/txpipeline/types.js';
import { captureLogger } from '../txpipeline/helpers.js';

const CUSTOMER = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const MS = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const jobId = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as Hex;
const SCRIPT = '#!/bin/bash -l\necho hi\n';

class FakeBackend implements SlurmBackend {
  readonly kind = 'local' as const;
  submits: SubmitRequest[] = [];
  jobsList: Array<Partial<SlurmJob> & { jobId: number; name: string }> = [];
  failNext: SlurmBackendError | undefined;
  /** Throw after slurmctld accepted (the answer is lost). */
  loseAnswer = false;
  cancelled: number[] = [];
  limits: Array<[number, number]> = [];
  next = 100;
  async partition(): Promise<never> {
    throw new Error('unused');
  }
  async submit(req: SubmitRequest) {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    this.submits.push(req);
    const id = this.next++;
    this.jobsList.push({ jobId: id, name: req.name, userId: req.uid, submitTime: Math.floor(Date.now() / 1000) });
    if (this.loseAnswer) {
      this.loseAnswer = false;
      throw new SlurmBackendError('unavailable', 'connection reset after sending');
    }
    return { jobId: id };
  }
  /** cancel() throws this while set. */
  cancelFails: Error | undefined;
  async cancel(id: number) {
    if (this.cancelFails) throw this.cancelFails;
    this.cancelled.push(id);
  }
  async setTimeLimit(id: number, m: number) {
    this.limits.push([id, m]);
  }
  async list() {
    return this.jobsList as SlurmJob[];
  }
  async jobs() {
    return new Map();
  }
  async close() {}
}

let db: Db;
let claims: Claims;
let backend: FakeBackend;
let jobs: JobMap;
let reports: Reports;
let sent: TxRequest[][];
let scripts: ScriptSource & { fail?: { kind: string; message: string } };
let users: UserResolver & { fail?: UserResolveError };
let runner: Runner;
let crashAt: string | undefined;
let chainStatus: JobStatus;

function newRunner(): Runner {
  const metrics = createSupervisorMetrics(new Registry(), claims);
  return new Runner({
    claims,
    reporter: { db, addJob: (j) => jobs.add(j), reports, jobs },
    pipeline: {
      submit: async (reqs, opts) => {
        sent.push(reqs);
        db.transaction(() => reqs.forEach((r, i) => opts?.onSigned?.(r, { id: i + 1, kind: r.kind, ref: r.ref, nonce: i, hash: '0x' as Hex }, i)))();
        return reqs.map((_, i) => ({ ok: true as const, txId: i + 1, nonce: i, hash: '0x' as Hex }));
      },
    },
    metaScheduler: MS,
    provider: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    chainJob: async () => ({ status: chainStatus, provider: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' }),
    backend,
    users,
    scripts,
    settings: { partition: 'debug', path: '/usr/bin:/bin', output: '{home}/out-%j', maxScriptBytes: 4096 },
    concurrency: 4,
    uncertainGraceMs: 0,
    backoffMs: 1,
    maxBackoffMs: 1,
    log: pino({ level: 'silent' }),
    metrics,
    checkpoint: (point) => {
      if (point === crashAt) {
        crashAt = undefined;
        throw new Error(`crash at ${point}`);
      }
    },
  });
}

function claim(n: number, over: { maxMinutes?: bigint; gpus?: bigint } = {}) {
  claims.add({
    gridJobId: jobId(n),
    customer: CUSTOMER,
    maxMinutes: over.maxMinutes ?? 30n,
    definition: { gpus: over.gpus ?? 0n, memPerCpu: 512n, cpusPerTask: 2n, ntasks: 3n, batchLocationHash: `h${n}`, storageType: 0, uses: [], affinity: [] },
    block: 10n,
    txHash: `0x${n.toString(16).padStart(64, 'a')}`,
    logIndex: 0,
  });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await runner.round(Date.now() + 10_000);
    if (claims.openCount() === 0) return;
  }
}

beforeEach(() => {
  db = openStateDb(join(mkdtempSync(join(tmpdir(), 'gl-runner-')), 'gridlink.db'));
  claims = new Claims(db);
  backend = new FakeBackend();
  jobs = new JobMap(db);
  reports = new Reports(db);
  sent = [];
  crashAt = undefined;
  chainStatus = JobStatus.SCHEDULED;
  scripts = {
    async fetchScript() {
      if (scripts.fail) throw Object.assign(new Error(scripts.fail.message), { kind: scripts.fail.kind });
      return { sbatch: SCRIPT };
    },
  };
  users = {
    kind: 'fake',
    async resolve(c) {
      if (users.fail) throw users.fail;
      return { name: c.toLowerCase(), uid: 60001, gid: 59000, home: `/home/${c.toLowerCase()}` };
    },
  };
  runner = newRunner();
});

describe('runner', () => {
  it('submits once as the customer with exactly the paid resources, a clean environment, and maps the job', async () => {
    claim(1, { gpus: 1n });
    await settle();
    expect(backend.submits).toHaveLength(1);
    const r = backend.submits[0]!;
    const home = `/home/${CUSTOMER.toLowerCase()}`;
    expect(r).toMatchObject({ name: jobId(1), user: CUSTOMER.toLowerCase(), uid: 60001, gid: 59000, workDir: home, partition: 'debug', ntasks: 3, cpusPerTask: 2, memPerCpuMB: 512, gpus: 1, timeLimitMinutes: 30, script: SCRIPT, stdout: `${home}/out-%j` });
    expect(r.environment).toEqual({ HOME: home, USER: CUSTOMER.toLowerCase(), LOGNAME: CUSTOMER.toLowerCase(), PATH: '/usr/bin:/bin', SLURM_JOB_NAME: jobId(1) });
    expect(jobs.get(jobId(1))).toMatchObject({ slurmJobId: 100, maxMinutes: 30 });
    expect(claims.latestFor(jobId(1))).toMatchObject({ state: 'submitted', slurmJobId: 100 });
    await settle();
    expect(backend.submits).toHaveLength(1);
  });

  it('a crash after the submission, before the job map: the restarted runner adopts the SLURM job, never submits again', async () => {
    claim(2);
    crashAt = 'after-submit';
    await runner.round();
    expect(backend.submits).toHaveLength(1);
    expect(claims.latestFor(jobId(2))?.state).toBe('submitting');
    runner = newRunner(); // the process restarted
    await settle();
    expect(backend.submits).toHaveLength(1);
    expect(claims.latestFor(jobId(2))).toMatchObject({ state: 'submitted', slurmJobId: 100 });
    expect(jobs.get(jobId(2))?.slurmJobId).toBe(100);
  });

  it('a crash before the submission: the restarted runner finds nothing in SLURM and submits exactly once', async () => {
    claim(3);
    crashAt = 'before-submit';
    await runner.round();
    expect(backend.submits).toHaveLength(0);
    runner = newRunner();
    await settle();
    expect(backend.submits).toHaveLength(1);
    expect(claims.latestFor(jobId(3))?.state).toBe('submitted');
  });

  it('a lost answer from slurmctld: looked up before trying again, adopted', async () => {
    claim(4);
    backend.loseAnswer = true;
    await settle();
    expect(backend.submits).toHaveLength(1);
    expect(claims.latestFor(jobId(4))).toMatchObject({ state: 'submitted', slurmJobId: 100 });
  });

  it('slurmctld unreachable: the claim is kept and retried, then submitted once', async () => {
    claim(5);
    backend.failNext = new SlurmBackendError('unavailable', 'Unable to contact slurm controller');
    await runner.round(Date.now() + 10_000);
    expect(claims.latestFor(jobId(5))).toMatchObject({ state: 'submitting', attempts: 1 });
    await settle();
    expect(backend.submits).toHaveLength(1);
  });

  it('SLURM refuses: refuseJob through the pipeline, the claim closed as refused', async () => {
    claim(6);
    backend.failNext = new SlurmBackendError('refused', 'Requested node configuration is not available', 2014);
    await settle();
    expect(sent).toHaveLength(1);
    expect(sent[0]![0]!.kind).toBe('refuse');
    expect(sent[0]![0]!.data.startsWith('0x')).toBe(true);
    expect(claims.latestFor(jobId(6))).toMatchObject({ state: 'refused' });
    expect(claims.latestFor(jobId(6))?.lastError).toMatch(/node configuration/);
  });

  it('the script is gone (not_found) or 0 minutes were paid: FAILED with lastError, nothing submitted', async () => {
    claim(7);
    scripts.fail = { kind: 'not_found', message: 'batch location hash unknown or expired' };
    await settle();
    scripts.fail = undefined;
    claim(8, { maxMinutes: 0n });
    await settle();
    expect(backend.submits).toHaveLength(0);
    expect(reports.forJob(jobId(7))).toMatchObject([{ status: JobStatus.FAILED, minutes: 0, lastError: expect.stringMatching(/script unavailable.*expired/) }]);
    expect(reports.forJob(jobId(8))).toMatchObject([{ status: JobStatus.FAILED, lastError: expect.stringMatching(/0 minutes/) }]);
    expect(claims.latestFor(jobId(8))?.state).toBe('failed');
  });

  it('the sbatch service or the directory unavailable: kept and retried, never submitted as anyone else', async () => {
    claim(9);
    scripts.fail = { kind: 'unavailable', message: 'connect ECONNREFUSED' };
    await runner.round(Date.now() + 10_000);
    scripts.fail = undefined;
    users.fail = new UserResolveError('LDAP server unreachable', true);
    await runner.round(Date.now() + 10_000);
    expect(backend.submits).toHaveLength(0);
    expect(claims.latestFor(jobId(9))).toMatchObject({ state: 'claimed', attempts: 2, lastError: expect.stringMatching(/LDAP/) });
    users.fail = undefined;
    await settle();
    expect(backend.submits).toHaveLength(1);
  });

  it('the sbatch service failing on its side (INTERNAL, UNKNOWN) is retried with backoff, not the customer\'s failure; a definite refusal fails the job', async () => {
    const grpcFailure = (code: number, details: string) => toSbatchError(Object.assign(new Error(details), { code, details, metadata: undefined }), { endpoint: 'grid:443', call: 'GetSBatch', tls: 'verified', timeoutMs: 1000 });
    const failures = [grpcFailure(grpcStatus.INTERNAL, 'internal error in the sbatch service'), grpcFailure(grpcStatus.UNKNOWN, 'rpc error')];
    scripts.fetchScript = async () => {
      const e = failures.shift();
      if (e) throw e;
      return { sbatch: SCRIPT };
    };
    claim(20);
    await runner.round(Date.now() + 10_000);
    expect(claims.latestFor(jobId(20))).toMatchObject({ state: 'claimed', attempts: 1, lastError: expect.stringMatching(/failed on its side .*INTERNAL/) });
    await runner.round(Date.now() + 10_000);
    expect(claims.latestFor(jobId(20))).toMatchObject({ state: 'claimed', attempts: 2, lastError: expect.stringMatching(/UNKNOWN/) });
    await settle();
    expect(claims.latestFor(jobId(20))?.state).toBe('submitted');
    expect(backend.submits).toHaveLength(1);

    // NOT_FOUND and INVALID_ARGUMENT are definite: FAILED at once.
    for (const [n, code] of [[21, grpcStatus.NOT_FOUND], [22, grpcStatus.INVALID_ARGUMENT]] as const) {
      scripts.fetchScript = async () => {
        throw grpcFailure(code, 'no');
      };
      claim(n);
      await runner.round(Date.now() + 10_000);
      expect(claims.latestFor(jobId(n))?.state).toBe('failed');
    }
  });

  it('a claim whose script keeps failing is retried only until the chain takes the job back: then closed, not FAILED', async () => {
    scripts.fail = { kind: 'unavailable', message: 'the sbatch service at grid:443 failed on its side (GetSBatch: INTERNAL: internal error)' };
    claim(23);
    await runner.round(Date.now() + 10_000);
    await runner.round(Date.now() + 10_000);
    expect(claims.latestFor(jobId(23))).toMatchObject({ state: 'claimed', attempts: 2 });
    chainStatus = JobStatus.META_SCHEDULED; // the oracle's timeout gave it to another provider
    await settle();
    expect(backend.submits).toHaveLength(0);
    expect(claims.latestFor(jobId(23))).toMatchObject({ state: 'cancelled', lastError: expect.stringMatching(/left SCHEDULED/) });
    expect(reports.forJob(jobId(23))).toEqual([]);
  });

  it('a customer who can never have a user (a conflicting directory entry): FAILED with the reason, nothing submitted', async () => {
    claim(10);
    users.fail = new UserResolveError('uid=0x..,ou=People has gidNumber 0, not the cluster-users group\'s 59001: fix the entry', false);
    await runner.round(Date.now() + 10_000);
    users.fail = undefined;
    expect(backend.submits).toHaveLength(0);
    expect(claims.latestFor(jobId(10))?.state).toBe('failed');
    expect(reports.forJob(jobId(10))).toMatchObject([{ status: JobStatus.FAILED, lastError: expect.stringMatching(/no usable Linux user for the customer: .*gidNumber 0/) }]);
  });

  it('a job of the same name run by another user is never adopted; a job claimed again is submitted for its newest claim only', async () => {
    claim(13);
    crashAt = 'before-submit';
    await runner.round();
    // Someone names a job after the grid job id (as anyone may): not the customer's uid.
    backend.jobsList.push({ jobId: 999, name: jobId(13), userId: 1234, submitTime: Math.floor(Date.now() / 1000) });
    runner = newRunner();
    await settle();
    expect(backend.submits.map((r) => r.name)).toEqual([jobId(13)]);
    expect(claims.latestFor(jobId(13))?.slurmJobId).toBe(100);
    // Claimed twice while the first claim waits on an outage: only the newest runs.
    claim(14);
    users.fail = new UserResolveError('LDAP server unreachable', true);
    await runner.round(Date.now() + 10_000);
    claims.add({ gridJobId: jobId(14), customer: CUSTOMER, maxMinutes: 30n, definition: claims.latestFor(jobId(14))!.definition, block: 20n, txHash: `0x${'f'.repeat(64)}`, logIndex: 3 });
    users.fail = undefined;
    await settle();
    expect(backend.submits.filter((r) => r.name === jobId(14))).toHaveLength(1);
    expect(claims.list().filter((c) => c.gridJobId === jobId(14)).map((c) => c.state)).toEqual(['cancelled', 'submitted']);
  });

  it('a claim retried after an outage is checked on chain first: taken back by the oracle meanwhile, it is not submitted', async () => {
    claim(12);
    users.fail = new UserResolveError('LDAP server unreachable', true);
    await runner.round(Date.now() + 10_000);
    users.fail = undefined;
    chainStatus = JobStatus.PENDING; // the oracle timed it out
    await settle();
    expect(backend.submits).toHaveLength(0);
    expect(claims.latestFor(jobId(12))).toMatchObject({ state: 'cancelled', lastError: expect.stringMatching(/left SCHEDULED.*PENDING/) });
  });

  it('a cancellation failing 10 times is escalated (error log, gridlink_cancellations_stuck, /healthz text) and tried again at a slow pace, never given up', async () => {
    const registry = new Registry();
    const metrics = createSupervisorMetrics(registry, claims);
    const log = captureLogger('warn');
    const actions = new JobActions({ claims, reporter: { db, addJob: (j) => jobs.add(j), reports, jobs }, backend, backoffMs: 1, maxBackoffMs: 1, log: log.logger, metrics, slowRetryMs: 3_600_000 });
    claim(30);
    await settle();
    const slurmJobId = claims.latestFor(jobId(30))!.slurmJobId!;
    claims.addAction({ kind: 'cancel', gridJobId: jobId(30), block: 11n, txHash: `0x${'3'.repeat(64)}`, logIndex: 1 });
    backend.cancelFails = new SlurmBackendError('refused', 'scancel: Access/permission denied');
    const stuck = async () => (await registry.getSingleMetricAsString('gridlink_cancellations_stuck')).match(/^gridlink_cancellations_stuck (\d+)$/m)?.[1];
    for (let i = 0; i < 9; i++) await actions.round(Date.now() + 10_000);
    expect(claims.dueActions(Date.now() + 10_000, 10)).toHaveLength(1);
    expect(await stuck()).toBe('0');
    await actions.round(Date.now() + 10_000); // the 10th failure
    expect(await stuck()).toBe('1');
    expect(claims.stuckCancellations(10)).toBe(1);
    expect(log.lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([expect.stringMatching(/CANCELLATION STUCK/)]);
    // Not given up: still pending, next try only at the slow pace.
    expect(claims.actionCounts()).toMatchObject({ cancel_pending: 1, cancel_failed: 0 });
    expect(claims.dueActions(Date.now() + 10_000, 10)).toHaveLength(0);
    backend.cancelFails = undefined;
    await actions.round(Date.now() + 3_700_000);
    expect(backend.cancelled).toEqual([slurmJobId]);
    expect(claims.actionCounts()).toMatchObject({ cancel_done: 1, cancel_pending: 0 });
    expect(await stuck()).toBe('0');
  });

  it('a cancellation claimed before submission closes the claim (CANCELLED, 0 minutes); a top-up before submission is in the time limit', async () => {
    const metrics = createSupervisorMetrics(new Registry(), claims);
    const actions = new JobActions({ claims, reporter: { db, addJob: (j) => jobs.add(j), reports, jobs }, backend, backoffMs: 1, maxBackoffMs: 1, log: pino({ level: 'silent' }), metrics });
    claim(10);
    claims.addAction({ kind: 'cancel', gridJobId: jobId(10), block: 11n, txHash: `0x${'c'.repeat(64)}`, logIndex: 1 });
    await actions.round();
    claim(11);
    claims.addAction({ kind: 'topup', gridJobId: jobId(11), minutes: 15n, block: 11n, txHash: `0x${'d'.repeat(64)}`, logIndex: 2 });
    await actions.round(); // not submitted yet: waits
    await settle();
    expect(backend.submits.map((s) => [s.name, s.timeLimitMinutes])).toEqual([[jobId(11), 45]]);
    expect(reports.forJob(jobId(10))).toMatchObject([{ status: JobStatus.CANCELLED, minutes: 0 }]);
    expect(jobs.get(jobId(11))?.maxMinutes).toBe(45);
    await actions.round(Date.now() + 10_000);
    expect(backend.limits).toEqual([[100, 45]]);
    // A second top-up after submission: added once to the job map, time limit absolute.
    claims.addAction({ kind: 'topup', gridJobId: jobId(11), minutes: 10n, block: 12n, txHash: `0x${'e'.repeat(64)}`, logIndex: 0 });
    actions.recordTopUp(jobId(11));
    await actions.round(Date.now() + 10_000);
    await actions.round(Date.now() + 10_000);
    expect(jobs.get(jobId(11))?.maxMinutes).toBe(55);
    expect(backend.limits.at(-1)).toEqual([100, 55]);
  });
});
