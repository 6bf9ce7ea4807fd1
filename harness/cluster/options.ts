// options.ts - what startCluster takes (validated with zod: nodes, ports,
// plugins, SLURM prefix, timeouts, ...) and the marker every process of a
// test cluster carries in its environment.
import type { Logger } from 'pino';
import { z } from 'zod';

import { slurmConfigSchema } from './config.js';

/**
 * Marks every process of a test cluster: set on both daemons (slurmstepd
 * inherits slurmd's environment) and in `Cluster.env` (batch jobs inherit
 * the submitter's). Its value is the cluster's base dir.
 */
export const CLUSTER_MARKER_ENV = 'GRIDLINK_CLUSTER_DIR';

export const startClusterOptionsSchema = z.object({
  /** Default: a fresh mkdtemp under the OS temp dir. Existing state in it is wiped. */
  baseDir: z.string().min(1).optional(),
  clusterName: slurmConfigSchema.shape.clusterName,
  partition: slurmConfigSchema.shape.partition,
  /** Countable GPUs per node (gres gpu on placeholder device files, see generateGresConf), default 2; 0 for none. */
  gpusPerNode: slurmConfigSchema.shape.gpusPerNode,
  /**
   * Default: `hostname -s` (slurmd matches its NodeName against it). With
   * `nodes` > 1 the base of the node names: `<nodeName>-1` .. `<nodeName>-N`.
   */
  nodeName: z.string().regex(/^\S+$/).optional(),
  /**
   * Compute nodes, each its own slurmd on this host (started with `-N <name>`,
   * own port, spool dir, pid and log file). 1 is the classic one-node cluster.
   */
  nodes: slurmConfigSchema.shape.nodes,
  ctldPort: z.number().int().min(1).max(65535).optional(),
  /** With `nodes` > 1: node 1's port (the others get free ports). */
  slurmdPort: z.number().int().min(1).max(65535).optional(),
  /**
   * Install prefix of the SLURM to run (e.g. /var/cache/gridlink/slurm/24.11.5
   * from scripts/build-slurm.sh): daemons from its sbin/, clients from its
   * bin/ (first on the PATH of `env`, so jobs' srun is that version's too),
   * PluginDir its lib/slurm, and from 24.05 on a cgroup.conf with
   * CgroupPlugin=disabled beside slurm.conf (slurmd initialises a cgroup
   * plugin even with proctrack/linuxproc; 23.11 has no "disabled" and does
   * without cgroup.conf).
   * Default: the system's SLURM (Debian's 22.05).
   */
  slurmPrefix: z
    .string()
    .refine((p) => p.startsWith('/'), 'must be an absolute path')
    .optional(),
  extraPluginDirs: slurmConfigSchema.shape.extraPluginDirs,
  jobComp: slurmConfigSchema.shape.jobComp,
  spank: slurmConfigSchema.shape.spank,
  minJobAge: slurmConfigSchema.shape.minJobAge,
  killWait: slurmConfigSchema.shape.killWait,
  defMemPerCpuMB: slurmConfigSchema.shape.defMemPerCpuMB,
  firstJobId: slurmConfigSchema.shape.firstJobId,
  schedulerParameters: slurmConfigSchema.shape.schedulerParameters,
  ctldDebug: slurmConfigSchema.shape.ctldDebug,
  slurmdDebug: slurmConfigSchema.shape.slurmdDebug,
  extraLines: slurmConfigSchema.shape.extraLines,
  /**
   * Commands the daemons are started through (argv prefixes; the daemon's own
   * command and arguments are appended): each must end by exec'ing them, so
   * the PID is the daemon's, e.g. ['unshare', '-m', 'sh', '-c', 'mount ... && exec "$@"', 'sh']
   * gives a daemon a mount namespace of its own (another nsswitch.conf).
   */
  ctldWrapper: z.array(z.string().min(1)).default([]),
  slurmdWrapper: z.array(z.string().min(1)).default([]),
  /** Extra environment for both daemons (and so for plugins they load). */
  daemonEnv: z.record(z.string()).default({}),
  /** Until `scontrol ping` answers and every node is idle. */
  startTimeoutMs: z.number().int().positive().default(30_000),
  /** Kernel-delivered SIGTERM to the daemons if this process dies (even by SIGKILL). */
  dieWithParent: z.boolean().default(true),
  /**
   * One cluster per machine: wait this long for a cluster of another process
   * (another test run) to stop before failing.
   */
  lockWaitMs: z.number().int().min(0).default(120_000),
  /** Delete the base dir on stop(); default keeps it, logs help after a failure. */
  removeOnStop: z.boolean().default(false),
});
export type StartClusterOptions = z.input<typeof startClusterOptionsSchema> & { logger?: Logger };
