// 1,000 jobs meta-scheduled over a couple of minutes run through the whole
// path (claim, script, submission as the customer, plugins, relays, reporter,
// chain): none lost, none run twice, none billed twice. The provider's
// balance grows by exactly 1,000 one-minute bills.
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import type { Supervisor } from '../../src/compose/supervisor-root.js';
import { stmt } from '../../src/state/db.js';
import { waitFor } from '../plugins/with-plugins.js';
import { metaScheduleAll, requestJobs } from './bulk.js';
import { CREDIT, startGrid, startGridSupervisor, type Grid } from './grid.js';

const N = Number(process.env.GL_THOUSAND_JOBS ?? 1000);
const WAVES = 10;

let grid: Grid;
let sup: Supervisor;

beforeAll(async () => {
  grid = await startGrid({ customers: 1, oracle: false });
  sup = await startGridSupervisor(grid, (c) => {
    c.chain.reconcile.intervalMs = 30_000;
  });
}, 240_000);

afterAll(async () => {
  await sup?.stop();
  await grid?.stop();
});

describe(`${N} jobs through the whole path`, () => {
  it('none lost, none run twice, none billed twice', async () => {
    const before = await grid.creditBalance(grid.provider.address);
    const hash = await grid.uploader.submit('#!/bin/bash -l\ntrue\n');
    const ids: Hex[] = [];
    const t0 = Date.now();
    for (let w = 0; w < WAVES; w++) {
      const wave = await requestJobs(grid, N / WAVES, { hash, credits: 100n * CREDIT });
      await metaScheduleAll(grid, wave);
      ids.push(...wave);
    }
    const scheduledMs = Date.now() - t0;
    const db = sup.reporter.db;
    const finished = () => (stmt(db, `SELECT count(*) AS n FROM reports WHERE status = ? AND state IN ('mined', 'confirmed')`).get(JobStatus.FINISHED) as { n: number }).n;
    await waitFor(`${N} FINISHED reports mined`, () => finished() >= N, 900_000);
    const e2eMs = Date.now() - t0;

    // One claim per job, submitted once, each its own SLURM job.
    const claims = sup.claims.list();
    expect(claims).toHaveLength(N);
    expect(new Set(claims.map((c) => c.gridJobId))).toEqual(new Set(ids.map((i) => i.toLowerCase())));
    expect(claims.every((c) => c.state === 'submitted')).toBe(true);
    expect(new Set(claims.map((c) => c.slurmJobId)).size).toBe(N);
    // The plugins saw each grid job under one SLURM job id only.
    const multi = stmt(db, `SELECT json_extract(event, '$.jobName') AS name, count(DISTINCT job_id) AS n FROM events WHERE name <> '' GROUP BY name HAVING n > 1`).all();
    expect(multi).toEqual([]);
    // Exactly one RUNNING and one FINISHED report per job, no other cold status.
    const perStatus = stmt(db, 'SELECT status, count(*) AS n FROM reports GROUP BY status ORDER BY status').all();
    expect(perStatus).toEqual([
      { status: JobStatus.RUNNING, n: N },
      { status: JobStatus.FINISHED, n: N },
    ]);
    // On chain: every job FINISHED; the provider paid exactly N one-minute bills (1 credit each, 20% cut).
    const statuses = await Promise.all(ids.map((id) => grid.job(id).then((j) => j.status)));
    expect(statuses.filter((s) => s !== JobStatus.FINISHED)).toEqual([]);
    const paid = (await grid.creditBalance(grid.provider.address)) - before;
    expect(paid).toBe(BigInt(N) * (CREDIT - CREDIT / 5n));
    process.stdout.write(`${N} jobs: meta-scheduled in ${(scheduledMs / 1000).toFixed(0)} s, all FINISHED on chain after ${(e2eMs / 1000).toFixed(0)} s (${((N / e2eMs) * 60_000).toFixed(0)} jobs/min)\n`);
  }, 1_200_000);
});
