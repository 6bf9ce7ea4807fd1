// with-plugins.ts - a real cluster with jobcomp/provider and the SPANK plugin
// loaded, on Debian's SLURM or on one of the version matrix's
// (docs/slurm-versions.md).
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { startCluster, type Cluster, type StartClusterOptions } from '../../harness/cluster/index.js';
import { EventKind, SpoolReader, packageRoot, type JobEvent } from '../../src/native/index.js';
import { prepare } from '../helpers/prepare.js';
import type { PluginSubject } from './subject.js';

export const pluginDir = join(packageRoot, 'build-plugins');

/** A SLURM the plugins are tested on: its daemons' prefix and the plugins built for it. */
export interface SlurmTarget {
  version: string;
  /** Install prefix (scripts/build-slurm.sh); undefined: the system's (Debian's) SLURM. */
  prefix: string | undefined;
  pluginDir: string;
}

/** The system's SLURM and the default build (npm run build:plugins). */
export const systemSlurm: SlurmTarget = {
  version: existsSync(join(pluginDir, 'SLURM_VERSION')) ? readFileSync(join(pluginDir, 'SLURM_VERSION'), 'utf8').trim() : 'system',
  prefix: undefined,
  pluginDir,
};

/**
 * The releases the acceptance suite also runs on, from upstream sources
 * (scripts/build-slurm-matrix.sh). 24.11 is not among them: the same cases
 * run against Debian 13's own 24.11.5 daemons in the slurm-in-docker cluster
 * (test/containers/cluster.test.ts), as operators install it; running them
 * again on an upstream build of the same release cost the cluster lane
 * minutes. 25.11 has no distribution package yet, so it runs here.
 */
export const MATRIX_VERSIONS = ['25.11.7'] as const;
export const slurmCache = process.env.GRIDLINK_SLURM_CACHE ?? '/var/cache/gridlink/slurm';
export const slurmTarballs = process.env.SLURM_TARBALLS ?? resolve(packageRoot, '..', 'shared', 'slurm');

/** SLURM `version` built from upstream by scripts/build-slurm-matrix.sh. */
export function matrixSlurm(version: string): SlurmTarget {
  return { version, prefix: join(slurmCache, version), pluginDir: join(pluginDir, `slurm-${version}`) };
}

/**
 * Where the plugin acceptance suite runs: the system's SLURM, then each
 * matrix version whose tarball is here (a machine without them tests Debian's
 * only). GRIDLINK_SLURM_VERSIONS=22.05.8,25.11.7 picks some.
 */
export function slurmTargets(): SlurmTarget[] {
  const all = [systemSlurm, ...MATRIX_VERSIONS.filter((v) => existsSync(join(slurmTarballs, `slurm-${v}.tar.xz`))).map(matrixSlurm)];
  const pick = process.env.GRIDLINK_SLURM_VERSIONS?.split(',').map((v) => v.trim()).filter(Boolean);
  return pick ? all.filter((t) => pick.includes(t.version)) : all;
}

/** True for the system's SLURM: the tests that need not run on every version. */
export const isSystem = (t: SlurmTarget) => t.prefix === undefined;

/** A cluster of this host's daemons: every node's slurmd appends to one node spool. */
export interface PluginCluster extends PluginSubject {
  cluster: Cluster;
  ctldSpool: string;
  nodeSpool: string;
  slurm: SlurmTarget;
}

export async function startPluginCluster(
  opts: { jobCompOptions?: string[]; spankOptions?: string[]; ctldSpool?: string; nodeSpool?: string; slurm?: SlurmTarget } & Partial<StartClusterOptions> = {},
): Promise<PluginCluster> {
  const slurm = opts.slurm ?? systemSlurm;
  const pluginDir = slurm.pluginDir;
  if (slurm.prefix && !existsSync(join(slurm.prefix, 'sbin', 'slurmctld')))
    throw new Error(`SLURM ${slurm.version} is not built in ${slurm.prefix}: call prepareSlurm() in a beforeAll (or run \`bash scripts/prepare-tests.sh slurm-${slurm.version}\`) first`);
  for (const so of ['jobcomp_provider.so', 'spank_provider.so'])
    if (!existsSync(join(pluginDir, so)))
      throw new Error(`${join(pluginDir, so)} is missing: run \`${slurm.prefix ? 'bash scripts/build-slurm-matrix.sh' : 'npm run build:plugins'}\` first`);
  const spoolRoot = mkdtempSync(join(tmpdir(), 'gl-spools-'));
  const ctldSpool = opts.ctldSpool ?? join(spoolRoot, 'slurmctld');
  const nodeSpool = opts.nodeSpool ?? join(spoolRoot, 'slurmd');
  const { jobCompOptions = [], spankOptions = [], ctldSpool: _c, nodeSpool: _n, slurm: _s, ...rest } = opts;
  const cluster = await startCluster({
    ...(slurm.prefix ? { slurmPrefix: slurm.prefix } : {}),
    extraPluginDirs: [pluginDir],
    jobComp: { type: 'jobcomp/provider', loc: [`spool=${ctldSpool}`, ...jobCompOptions].join(',') },
    spank: [{ path: join(pluginDir, 'spank_provider.so'), args: [`spool=${nodeSpool}`, ...spankOptions] }],
    ...rest,
  });
  return {
    cluster,
    ctldSpool,
    nodeSpool,
    slurm,
    ctldEvents: () => readSpool(ctldSpool),
    nodeSpools: () => [readSpool(nodeSpool)],
    ctldLog: async () => readFileSync(cluster.logs.ctld, 'utf8'),
    slurmdLog: async () => readFileSync(cluster.logs.slurmd, 'utf8'),
  };
}

/** Builds (or waits for) a matrix release and its plugins; nothing for the system's SLURM. In a beforeAll with PREPARE_TIMEOUT_MS. */
export async function prepareSlurm(slurm: SlurmTarget): Promise<void> {
  if (slurm.prefix) await prepare(`slurm-${slurm.version}`);
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
