// kill -9 of the supervisor between the claim and the submission, and again
// between the submission and the job map write: after restarts every job runs
// exactly once (one SLURM job per grid job) and reaches FINISHED on chain.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { JobStatus } from '../../src/metascheduler/status.js';
import { stateDbPath } from '../../src/state/db.js';
import { openStateDb } from '../../src/compose/state-store.js';
import { CREDIT, startGrid, type Grid } from './grid.js';

let grid: Grid;
let child: ChildProcess | undefined;
let configFile: string;

beforeAll(async () => {
  grid = await startGrid({ customers: 1 });
  configFile = join(grid.storeDir, 'supervisor.json');
  writeFileSync(configFile, JSON.stringify(grid.configInput()));
}, 240_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await grid?.stop();
});

function startChild(crashAt?: string): { proc: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const log = createWriteStream(join(grid.storeDir, 'supervisor.log'), { flags: 'a' });
  const proc = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'crash-entry.ts'), configFile], {
    env: { ...process.env, ...(crashAt ? { GL_CRASH_AT: crashAt } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.pipe(log);
  proc.stderr!.pipe(log);
  child = proc;
  return { proc, exited: new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal }))) };
}

/** SLURM job ids whose plugin records carry this grid job's name. */
function slurmIdsNamed(id: Hex): number[] {
  const db = openStateDb(stateDbPath(grid.storeDir), { readonly: true });
  try {
    return (db.prepare(`SELECT DISTINCT job_id FROM events WHERE json_extract(event, '$.jobName') = ?`).all(id) as Array<{ job_id: number }>).map((r) => r.job_id);
  } finally {
    db.close();
  }
}

describe('supervisor killed with -9', () => {
  it('between claim and submission, then between submission and the job map: the job runs exactly once and is paid', async () => {
    const first = startChild('before-submit');
    await grid.approveWhenRegistered(90_000);
    const id = await grid.requestJob({ script: '#!/bin/bash -l\nsleep 3\n', credits: 100n * CREDIT });
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    expect((await grid.job(id)).status).toBe(JobStatus.SCHEDULED);

    const second = startChild('after-submit');
    expect(await second.exited).toMatchObject({ signal: 'SIGKILL' });

    const third = startChild();
    const done = await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 180_000);
    expect(done.status).toBe(JobStatus.FINISHED);
    // A second job while this one is up: nothing left over from the crashes disturbs it.
    const id2 = await grid.requestJob({ script: '#!/bin/bash -l\ntrue\n', credits: 100n * CREDIT });
    expect((await grid.waitStatus(id2, [JobStatus.FINISHED, JobStatus.FAILED], 120_000)).status).toBe(JobStatus.FINISHED);
    third.proc.kill('SIGTERM');
    expect(await third.exited).toMatchObject({ code: 0 });
    expect(slurmIdsNamed(id)).toHaveLength(1);
    expect(slurmIdsNamed(id2)).toHaveLength(1);
  }, 480_000); // its own waits (registration 90 s, the first job 180 s, the second 120 s) are longer than the lane's 120 s default
});
