// On the upstream releases of the version matrix the plugins are built
// without the embedded runtime (-DGRIDLINK_RUNTIME=OFF, as on a host where no
// libnode fits): asked for a reporter anyway, each plugin says so in its
// daemon's log and points at `gridlink relay`, keeps recording, and the
// standalone relays deliver both spools to the reporter's ingest endpoint.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { EventKind, packageRoot } from '../../src/native/index.js';
import { checkOncePerSpoolInOrder, ensureBuilt, startIngest, stored, waitAllDelivered, type Ingest } from '../bridge/bridge.js';
import { isSystem, prepareSlurm, slurmTargets, startPluginCluster, waitFor, type PluginCluster } from '../plugins/with-plugins.js';
import { PREPARE_TIMEOUT_MS } from '../helpers/prepare.js';

let pc: PluginCluster | undefined;
let ingest: Ingest | undefined;
let relays: ChildProcess[] = [];
afterEach(async () => {
  for (const r of relays) r.kill('SIGTERM');
  relays = [];
  await pc?.cluster.stop();
  await ingest?.stop();
  pc = ingest = undefined;
});

/** `gridlink relay` as an operator runs it beside a daemon. */
function gridlinkRelay(spool: string, daemon: 'slurmctld' | 'slurmd', reporterUrl: string): ChildProcess {
  const cli = join(packageRoot, 'dist', 'cli', 'main.js');
  const p = spawn(process.execPath, [cli, 'relay', '--spool', spool, '--daemon', daemon, '--reporter', reporterUrl, '--poll-ms', '200', '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  relays.push(p);
  return p;
}

const noRuntime = /gridlink: cannot load \S+gridlink_runtime\.so .*the embedded runtime is off, events stay in the spool: .*run `gridlink relay`/;

describe.each(slurmTargets().filter((t) => !isSystem(t)))('SLURM $version, plugins without the embedded runtime', (slurm) => {
  beforeAll(() => prepareSlurm(slurm), PREPARE_TIMEOUT_MS);
  it('logs that the runtime is missing and to run `gridlink relay`; the standalone relays deliver every record to the ingest', async () => {
    expect(existsSync(join(slurm.pluginDir, 'gridlink_runtime.so')), 'the matrix builds have no runtime').toBe(false);
    ensureBuilt();
    ingest = await startIngest();
    const reporter = [`reporter=${ingest.url}`];
    pc = await startPluginCluster({ slurm, gpusPerNode: 0, jobCompOptions: reporter, spankOptions: reporter });
    const c = pc.cluster;
    expect(readFileSync(c.logs.ctld, 'utf8')).toMatch(noRuntime);
    await waitFor('the slurmd log to say the runtime is missing', () => noRuntime.test(readFileSync(c.logs.slurmd, 'utf8')));

    gridlinkRelay(pc.ctldSpool, 'slurmctld', ingest.url);
    gridlinkRelay(pc.nodeSpool, 'slurmd', ingest.url);
    const ok = await c.sbatch(['--job-name=relayed', '-o', '/dev/null'], 'exit 0');
    const failed = await c.sbatch(['-o', '/dev/null'], 'exit 3');
    for (const id of [ok, failed]) await c.waitJob(id);

    await waitAllDelivered(ingest, [ok, failed], 30_000);
    const records = await waitFor('both epilog records at the ingest', async () => {
      const all = await stored(ingest!);
      return all.filter((r) => r.event.kind === EventKind.JobEndedOnNode).length >= 2 && all;
    });
    checkOncePerSpoolInOrder(records);
    const done = (id: number) => records.filter((r) => r.event.kind === EventKind.JobCompleted && r.event.jobId === id);
    expect(done(ok)).toHaveLength(1);
    expect(done(ok)[0]).toMatchObject({ daemon: 'slurmctld', event: { stateName: 'COMPLETED', jobName: 'relayed', exitCode: 0 } });
    expect(done(failed)[0]).toMatchObject({ event: { stateName: 'FAILED', exitCode: 3 } });
    const started = records.filter((r) => r.event.kind === EventKind.JobStarted);
    expect(started.map((r) => r.event.jobId).sort()).toEqual([ok, failed].sort());
    expect(started.every((r) => r.daemon === 'slurmd' && r.event.node === c.nodeName)).toBe(true);
  });
});
