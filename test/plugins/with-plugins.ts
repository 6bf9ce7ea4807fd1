// with-plugins.ts - a real cluster with jobcomp/provider and the SPANK plugin loaded.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startCluster, type Cluster, type StartClusterOptions } from '../../src/cluster/index.js';
import { EventKind, SpoolReader, packageRoot, type JobEvent } from '../../src/native/index.js';

export const pluginDir = join(packageRoot, 'build-plugins');

export interface PluginCluster {
  cluster: Cluster;
  ctldSpool: string;
  nodeSpool: string;
}

export async function startPluginCluster(
  opts: { jobCompOptions?: string[]; spankOptions?: string[]; ctldSpool?: string; nodeSpool?: string } & Partial<StartClusterOptions> = {},
): Promise<PluginCluster> {
  for (const so of ['jobcomp_provider.so', 'spank_provider.so'])
    if (!existsSync(join(pluginDir, so))) throw new Error(`${join(pluginDir, so)} is missing: run \`npm run build:plugins\` first`);
  const spoolRoot = mkdtempSync(join(tmpdir(), 'gl-spools-'));
  const ctldSpool = opts.ctldSpool ?? join(spoolRoot, 'slurmctld');
  const nodeSpool = opts.nodeSpool ?? join(spoolRoot, 'slurmd');
  const { jobCompOptions = [], spankOptions = [], ctldSpool: _c, nodeSpool: _n, ...rest } = opts;
  const cluster = await startCluster({
    extraPluginDirs: [pluginDir],
    jobComp: { type: 'jobcomp/provider', loc: [`spool=${ctldSpool}`, ...jobCompOptions].join(',') },
    spank: [{ path: join(pluginDir, 'spank_provider.so'), args: [`spool=${nodeSpool}`, ...spankOptions] }],
    ...rest,
  });
  return { cluster, ctldSpool, nodeSpool };
}

/** Every unacked event in a spool (read-only). [] when the spool does not exist yet. */
export function readSpool(dir: string): JobEvent[] {
  if (!existsSync(join(dir, 'spool.meta'))) return [];
  const r = new SpoolReader(dir);
  try {
    return [...r.readAll()].map((x) => x.event);
  } finally {
    r.close();
  }
}

export const completions = (evs: JobEvent[], jobId?: number) =>
  evs.filter((e) => e.kind === EventKind.JobCompleted && (jobId === undefined || e.jobId === jobId));
export const starts = (evs: JobEvent[], jobId?: number) =>
  evs.filter((e) => e.kind === EventKind.JobStarted && (jobId === undefined || e.jobId === jobId));
export const nodeEnds = (evs: JobEvent[], jobId?: number) =>
  evs.filter((e) => e.kind === EventKind.JobEndedOnNode && (jobId === undefined || e.jobId === jobId));

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
