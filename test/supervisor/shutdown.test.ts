// `gridlink supervisor run` as operators run it, with its full configuration
// (chain.wsUrl, /metrics and /healthz, the local SLURM backend, the sbatch
// service, the ingest): after running a job to FINISHED it exits 0 within 5 s
// of SIGTERM. With chain.wsUrl it once never exited: two head watchers on one
// URL opened two sockets and stop() closed one.
import { spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { freePort } from '../../harness/cluster/ports.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import { PROMPT_EXIT_MS, sigterm } from '../helpers/sigterm.js';
import { CREDIT, startGrid, type Grid } from './grid.js';

let grid: Grid;
beforeAll(async () => {
  grid = await startGrid({ customers: 1 });
}, 240_000);
afterAll(async () => {
  await grid?.stop();
});

describe('gridlink supervisor run', () => {
  it('with chain.wsUrl and metrics: runs a job, then exits 0 within 5 s of SIGTERM', async () => {
    const metricsPort = await freePort();
    const configFile = join(grid.storeDir, 'supervisor-shutdown.json');
    writeFileSync(configFile, JSON.stringify(grid.configInput((c) => (c.metricsListen = { host: '127.0.0.1', port: metricsPort }))));
    expect(grid.configInput().chain.wsUrl).toMatch(/^ws:/);
    const logFile = join(grid.storeDir, 'supervisor-shutdown.log');
    const log = createWriteStream(logFile);
    const child = spawn(process.execPath, [...cliEntry(), 'supervisor', 'run', '--config', configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GRIDLINK_PROVIDER_KEY: '' },
    });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    try {
      await grid.approveWhenRegistered(90_000);
      const id = await grid.requestJob({ script: '#!/bin/bash -l\ntrue\n', credits: 100n * CREDIT });
      expect((await grid.waitStatus(id, [JobStatus.FINISHED, JobStatus.FAILED], 120_000)).status).toBe(JobStatus.FINISHED);
      expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
    } finally {
      const r = await sigterm(child);
      const out = readFileSync(logFile, 'utf8');
      expect(r, out.slice(-3000)).toMatchObject({ code: 0, signal: null });
      expect(r.ms, out.slice(-3000)).toBeLessThan(PROMPT_EXIT_MS);
      expect(out).toMatch(/supervisor: stopped/);
    }
  }, 300_000);
});
