// The sender's decisions with a fake pipeline: what each revert means for a
// report, adoption of a transaction committed before a crash, retries.
import { afterEach, describe, expect, it } from 'vitest';
import { decodeFunctionData, type Hex } from 'viem';

import { metaSchedulerAbi } from '../../src/metascheduler/abi.generated.js';
import { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { ReportSender, type PipelinePort } from '../../src/reporter/sender.js';
import type { Db } from '../../src/state/db.js';
import type { SubmitOptions, SubmitOutcome, TxEvent, TxRequest } from '../../src/txpipeline/index.js';
import { CUSTOMER, gridId, quiet, stateDb } from './fixtures.js';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** Like TxPipeline: an accepted request gets a txs row, and onSigned runs in the same SQLite transaction. */
class FakePipeline implements PipelinePort {
  handler: ((ev: TxEvent<MetaSchedulerError>) => void) | undefined;
  sent: Array<{ jobId: Hex; status: number; minutes: bigint; ref: string }> = [];
  next: (req: TxRequest) => SubmitOutcome<MetaSchedulerError> = () => ({ ok: true, txId: 0, nonce: 0, hash: '0x01' });
  /** Throw after the signing transaction committed, as a process killed before submit() returns. */
  crashAfterSigning = false;
  constructor(private readonly db: Db) {}
  on(_kind: string, h: (ev: TxEvent<MetaSchedulerError>) => void) {
    this.handler = h;
  }
  inFlight() {
    return 0;
  }
  async submit(reqs: TxRequest[], opts: SubmitOptions = {}) {
    const out = reqs.map((r, i) => {
      const { args } = decodeFunctionData({ abi: metaSchedulerAbi, data: r.data });
      const [jobId, status, minutes] = args as unknown as [Hex, number, bigint];
      this.sent.push({ jobId, status, minutes, ref: r.ref });
      const o = this.next(r);
      if (!o.ok) return o;
      return this.db.transaction(() => {
        const id = Number(
          this.db
            .prepare(`INSERT INTO txs (sender, nonce, kind, ref, to_addr, data, gas, state, created_at, updated_at) VALUES ('0x', ?, ?, ?, ?, ?, 1, 'pending', 0, 0)`)
            .run(this.sent.length, r.kind, r.ref, r.to, r.data).lastInsertRowid,
        );
        const info = { id, kind: r.kind, ref: r.ref, nonce: this.sent.length, hash: '0x01' as Hex };
        opts.onSigned?.(r, info, i);
        return { ...o, txId: id, nonce: info.nonce };
      })();
    });
    if (this.crashAfterSigning) throw new Error('killed');
    return out;
  }
  emit(ev: TxEvent<MetaSchedulerError>) {
    this.handler!(ev);
  }
}

const err = (name: string, args: Record<string, unknown> = {}) => new MetaSchedulerError({ name: name as never, args: args as never });

function setup(chainStart = 0n) {
  const s = stateDb();
  cleanup = s.cleanup;
  const pipeline = new FakePipeline(s.db);
  const sender = new ReportSender({
    db: s.db,
    reports: s.reports,
    jobs: s.jobs,
    pipeline,
    chain: { jobStart: async () => ({ status: JobStatus.RUNNING, start: chainStart }), latestTimestamp: async () => chainStart + 120n },
    metaScheduler: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    billDurationDeltaMinute: 15n,
    log: quiet,
  });
  s.jobs.add({ gridJobId: gridId(1), slurmJobId: 1, customer: CUSTOMER, maxMinutes: 60, claimBlock: 1 });
  return { ...s, pipeline, sender };
}

const tx = (ref: number, id = ref) => ({ id, kind: 'report', ref: String(ref), nonce: id, hash: '0x01' as Hex });

describe('report sender', () => {
  it('a cold report waits until RUNNING is mined, then goes with minutes capped by the chain', async () => {
    const t = setup(1_000n);
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.RUNNING });
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.FINISHED, minutes: 40 });
    expect(await t.sender.round()).toBe(1);
    expect(t.pipeline.sent.map((s) => s.status)).toEqual([JobStatus.RUNNING]);
    expect(await t.sender.round()).toBe(0); // FINISHED waits
    t.pipeline.emit({ type: 'mined', tx: tx(1), block: 10n, blockHash: '0x02', timestamp: 1_000n });
    expect(t.jobs.get(gridId(1))!.chainStart).toBe(1000);
    expect(await t.sender.round()).toBe(1);
    // 2 minutes elapsed on chain + 15 delta: 40 would be BilledTooMuch, 17 is the most the contract accepts.
    expect(t.pipeline.sent[1]).toMatchObject({ status: JobStatus.FINISHED, minutes: 17n });
    t.pipeline.emit({ type: 'confirmed', tx: tx(2), block: 12n });
    expect(t.reports.coldFor(gridId(1))!.state).toBe('confirmed');
  });

  it('SameStatusError -> done; JobHotStatusOnly -> done and the SLURM job flagged for scancel', async () => {
    const t = setup();
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.RUNNING });
    t.pipeline.next = () => ({ ok: false, revert: err('SameStatusError') });
    await t.sender.round();
    expect(t.reports.forJob(gridId(1))[0]).toMatchObject({ state: 'done' });
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.FAILED });
    t.pipeline.next = () => ({ ok: false, revert: err('JobHotStatusOnly', { current: JobStatus.CANCELLED }) });
    await t.sender.round();
    expect(t.reports.coldFor(gridId(1))).toMatchObject({ state: 'done' });
    expect(t.reports.coldFor(gridId(1))!.reason).toMatch(/already final on chain \(CANCELLED\)/);
    expect(t.jobs.toCancel().map((j) => j.gridJobId)).toEqual([gridId(1)]);
  });

  it('InvalidTransition SCHEDULED -> cold sends RUNNING first, then the cold status', async () => {
    const t = setup();
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.FINISHED, minutes: 3 });
    t.pipeline.next = () => ({ ok: false, revert: err('InvalidTransition', { from: JobStatus.SCHEDULED, to: JobStatus.FINISHED }) });
    await t.sender.round();
    expect(t.reports.forJob(gridId(1)).map((r) => [r.status, r.state])).toEqual([
      [JobStatus.FINISHED, 'planned'],
      [JobStatus.RUNNING, 'planned'],
    ]);
    t.pipeline.next = () => ({ ok: true, txId: 7, nonce: 7, hash: '0x03' });
    await t.sender.round();
    expect(t.pipeline.sent.at(-1)!.status).toBe(JobStatus.RUNNING);
    expect(await t.sender.round()).toBe(0);
  });

  it('anything else parks the report with the decoded error; a mined revert is decided the same way', async () => {
    const t = setup();
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.RUNNING });
    t.pipeline.next = () => ({ ok: false, revert: err('JobProviderOnly', { current: CUSTOMER, expected: CUSTOMER }) });
    await t.sender.round();
    expect(t.reports.forJob(gridId(1))[0]).toMatchObject({ state: 'parked' });
    expect(t.reports.forJob(gridId(1))[0]!.reason).toMatch(/JobProviderOnly/);
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.FINISHED, minutes: 1 });
    t.pipeline.next = () => ({ ok: true, txId: 9, nonce: 9, hash: '0x04' });
    await t.sender.round();
    const cold = t.reports.coldFor(gridId(1))!;
    expect(cold.state).toBe('signed');
    t.pipeline.emit({ type: 'reverted', tx: tx(cold.id, 9), block: 3n, error: err('SameStatusError') });
    expect(t.reports.coldFor(gridId(1))!.state).toBe('done');
  });

  it('an unreachable chain leaves reports planned; a lost nonce re-plans; a reorg un-mines', async () => {
    const t = setup();
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.RUNNING });
    t.pipeline.next = () => ({ ok: false, retry: new Error('ECONNREFUSED') });
    expect(await t.sender.round()).toBe(0);
    expect(t.reports.forJob(gridId(1))[0]!.state).toBe('planned');
    t.pipeline.next = () => ({ ok: true, txId: 1, nonce: 1, hash: '0x05' });
    await t.sender.round();
    const r = t.reports.forJob(gridId(1))[0]!;
    t.pipeline.emit({ type: 'mined', tx: tx(r.id, 1), block: 5n, blockHash: '0x06', timestamp: 500n });
    expect(t.reports.get(r.id)!.state).toBe('mined');
    t.pipeline.emit({ type: 'unmined', tx: tx(r.id, 1) });
    expect(t.reports.get(r.id)!.state).toBe('signed');
    expect(t.jobs.get(gridId(1))!.chainStart).toBeNull();
    t.pipeline.emit({ type: 'lost', tx: tx(r.id, 1) });
    expect(t.reports.get(r.id)!.state).toBe('planned');
  });

  it('a report is signed in the transaction that stores its transaction: killed right after, it is never sent twice', async () => {
    const t = setup();
    t.reports.plan({ gridJobId: gridId(1), status: JobStatus.RUNNING });
    const r = t.reports.forJob(gridId(1))[0]!;
    t.pipeline.crashAfterSigning = true;
    await expect(t.sender.round()).rejects.toThrow('killed');
    const txId = (t.db.prepare(`SELECT id FROM txs WHERE kind = 'report' AND ref = ?`).get(String(r.id)) as { id: number }).id;
    expect(t.reports.get(r.id)).toMatchObject({ state: 'signed', txId });
    t.pipeline.crashAfterSigning = false;
    expect(await t.sender.round()).toBe(0);
    expect(t.pipeline.sent).toHaveLength(1);
  });
});
