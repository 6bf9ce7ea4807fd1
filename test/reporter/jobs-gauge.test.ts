// gridlink_jobs{status}: the mapped jobs by the chain status this store saw
// mined (its reports mined, confirmed, or done because the chain had the
// status already), SCHEDULED while none is; every status from SCHEDULED on
// is exported, 0 included. A planned or signed report does not count: the
// chain does not have it yet.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Registry } from 'prom-client';
import { expect, it } from 'vitest';

import { openStateDb } from '../../src/compose/state-store.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { JobMap } from '../../src/reporter/jobmap.js';
import { createReporterMetrics } from '../../src/reporter/metrics.js';
import { Reports } from '../../src/reporter/reports.js';

it('counts mapped jobs by the status mined on chain', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-jobs-gauge-'));
  const db = openStateDb(join(dir, 'gridlink.db'));
  try {
    const jobs = new JobMap(db);
    const reports = new Reports(db);
    const registry = new Registry();
    createReporterMetrics(registry, reports, jobs);
    const id = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const;
    const customer = '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc';
    for (let n = 1; n <= 5; n++) jobs.add({ gridJobId: id(n), slurmJobId: n, customer, maxMinutes: 10, claimBlock: 1 });
    const report = (n: number, status: JobStatus, state: 'signed' | 'mined' | 'confirmed' | 'done') => {
      reports.plan({ gridJobId: id(n), status });
      reports.setState(reports.forJob(id(n)).find((r) => r.status === status)!.id, state);
    };
    // 1: nothing reported (SCHEDULED); 2: RUNNING confirmed; 3: RUNNING confirmed, FINISHED mined;
    // 4: RUNNING mined, FAILED only signed (still RUNNING on chain); 5: CANCELLED found on chain (done).
    report(2, JobStatus.RUNNING, 'confirmed');
    report(3, JobStatus.RUNNING, 'confirmed');
    report(3, JobStatus.FINISHED, 'mined');
    report(4, JobStatus.RUNNING, 'mined');
    report(4, JobStatus.FAILED, 'signed');
    report(5, JobStatus.CANCELLED, 'done');

    const values = Object.fromEntries(
      ((await registry.getSingleMetric('gridlink_jobs')!.get()).values as Array<{ labels: { status: string }; value: number }>).map((v) => [v.labels.status, v.value]),
    );
    expect(values).toEqual({ SCHEDULED: 1, RUNNING: 2, CANCELLED: 1, FINISHED: 1, FAILED: 0, OUT_OF_CREDITS: 0, PANICKED: 0 });
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
