// config.ts - a test cluster's SLURM configuration: the options (zod) and the
// slurm.conf, plugstack.conf and gres.conf written from them.
import path from 'node:path';
import { z } from 'zod';
import { clusterPaths } from './paths.js';

/** Debian 12's slurm-wlm-basic-plugins install dir (x86_64). */
export const DEBIAN_PLUGIN_DIR = '/usr/lib/x86_64-linux-gnu/slurm-wlm';

// slurm.conf has no quoting: a space or newline in a value silently splits it.
const noSpace = z.string().min(1).regex(/^\S+$/, 'must not contain whitespace');
const absPath = noSpace.refine((p) => p.startsWith('/'), 'must be an absolute path');
const port = z.number().int().min(1).max(65535);

/** Hardware of the one compute node, as `slurmd -C` reports it. */
export const nodeHardwareSchema = z.object({
  cpus: z.number().int().positive(),
  boards: z.number().int().positive().default(1),
  socketsPerBoard: z.number().int().positive(),
  coresPerSocket: z.number().int().positive(),
  threadsPerCore: z.number().int().positive(),
  /** MB; give slurmd a bit less than it measures or it drains the node (Low RealMemory). */
  realMemoryMB: z.number().int().positive(),
});
export type NodeHardware = z.infer<typeof nodeHardwareSchema>;

export const spankPluginSchema = z.object({
  path: absPath,
  /** `required` (default): a failing init aborts the job; `optional`: ignored. */
  optional: z.boolean().default(false),
  /** Passed through verbatim after the path, e.g. `spool=/x`. */
  args: z.array(noSpace).default([]),
});
export type SpankPlugin = z.input<typeof spankPluginSchema>;

export const slurmConfigSchema = z.object({
  clusterName: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,39}$/, 'lowercase letters, digits, _ and - (SLURM lowercases it anyway)')
    .default('gridlink'),
  baseDir: absPath,
  /** Hostname slurmctld runs as (must equal its `hostname -s`). */
  controlHost: noSpace,
  controlAddr: noSpace.default('127.0.0.1'),
  ctldPort: port,
  slurmdPort: port,
  nodeName: noSpace,
  nodeAddr: noSpace.default('127.0.0.1'),
  /**
   * Compute nodes. 1: the node is `nodeName` on `slurmdPort` (the classic
   * config, unchanged). More: one slurmd per node on this host (Debian builds
   * SLURM with --enable-multiple-slurmd), named `<nodeName>-1` .. `-N`
   * (`computeNodeNames`), node i on `slurmdPorts[i-1]`, NodeHostname
   * `controlHost`, and the slurmd spool/pid/log paths per node (`%n`).
   */
  nodes: z.number().int().min(1).max(8).default(1),
  /** One distinct port per node; required when `nodes` > 1, unused otherwise. */
  slurmdPorts: z.array(port).optional(),
  node: nodeHardwareSchema,
  /**
   * Countable GPUs per node: `GresTypes=gpu`, `Gres=gpu:N` on each node line
   * and a gres.conf (`NodeName=... Name=gpu Count=N File=<baseDir>/gpus/gpu[..]`,
   * placeholder files: see generateGresConf) next to slurm.conf, where slurmd
   * looks for it. 0: no GPUs, no gres.conf.
   */
  gpusPerNode: z.number().int().min(0).max(64).default(2),
  partition: noSpace.default('debug'),
  pluginDir: absPath.default(DEBIAN_PLUGIN_DIR),
  /** Appended to PluginDir (colon list): our own build dir with jobcomp_provider.so. */
  extraPluginDirs: z.array(absPath).default([]),
  jobComp: z.object({ type: noSpace, loc: noSpace.optional() }).optional(),
  /** When non-empty a plugstack.conf is generated and PlugStackConfig points at it. */
  spank: z.array(spankPluginSchema).default([]),
  /** Seconds a finished job stays visible to `scontrol show job` (no slurmdbd here). */
  minJobAge: z.number().int().min(2).default(10),
  /** Seconds between SIGTERM and SIGKILL on cancel/timeout. */
  killWait: z.number().int().min(0).default(2),
  /** Without it CR_Core_Memory gives each job the whole node's memory: one job at a time. */
  defMemPerCpuMB: z.number().int().positive().default(128),
  firstJobId: z.number().int().positive().optional(),
  /**
   * slurmctld schedules batch jobs from its background loop, by default at
   * most every 3 s (batch_sched_delay): 0 makes a job start ~0.1 s after sbatch.
   */
  schedulerParameters: z.string().regex(/^\S*$/).default('batch_sched_delay=0'),
  ctldDebug: z.enum(['quiet', 'fatal', 'error', 'info', 'verbose', 'debug', 'debug2', 'debug3']).default('info'),
  slurmdDebug: z.enum(['quiet', 'fatal', 'error', 'info', 'verbose', 'debug', 'debug2', 'debug3']).default('info'),
  /** Raw lines appended last: a repeated key overrides ours (slurmctld logs "specified more than once, latest value used"). */
  extraLines: z.array(z.string().regex(/^[^\n]*$/, 'one line each')).default([]),
});
// A plain object schema stays exported (its .shape is reused); the generator
// parses with this one, which also checks fields against each other.
const slurmConfigChecked = slurmConfigSchema.superRefine((c, ctx) => {
  if (c.nodes === 1) return;
  const ports = c.slurmdPorts ?? [];
  if (ports.length !== c.nodes || new Set(ports).size !== ports.length) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['slurmdPorts'], message: `${c.nodes} nodes need ${c.nodes} distinct slurmd ports` });
  }
});
export type SlurmConfigInput = z.input<typeof slurmConfigSchema>;
export type SlurmConfig = z.output<typeof slurmConfigSchema>;

/** The compute nodes' names: `[nodeName]` for one node, else `<nodeName>-1` .. `<nodeName>-N`. */
export function computeNodeNames(c: { nodeName: string; nodes?: number }): string[] {
  const n = c.nodes ?? 1;
  return n === 1 ? [c.nodeName] : Array.from({ length: n }, (_, i) => `${c.nodeName}-${i + 1}`);
}

export interface GeneratedConfig {
  slurmConf: string;
  /** Undefined when `gpusPerNode` is 0. Written as gres.conf beside slurm.conf. */
  gresConf?: string;
  /** Undefined when no SPANK plugin is configured. */
  plugstackConf?: string;
}

export function generatePlugstackConf(plugins: SpankPlugin[]): string {
  const lines = plugins.map((p) => {
    const s = spankPluginSchema.parse(p);
    return [s.optional ? 'optional' : 'required', s.path, ...s.args].join(' ');
  });
  return lines.join('\n') + '\n';
}

/**
 * Countable GPUs backed by placeholder files (`gpuDir`/gpu0..N-1, made by the
 * harness): 22.05's gres/gpu drops a GPU without File= ("Removing file-less
 * GPU") and the node then goes INVAL. Nothing binds them (task/none).
 */
export function generateGresConf(nodeNames: readonly string[], gpus: number, gpuDir: string): string {
  const files = gpus === 1 ? `${gpuDir}/gpu0` : `${gpuDir}/gpu[0-${gpus - 1}]`;
  const lines = nodeNames.map((n) => `NodeName=${n} Name=gpu Count=${gpus} File=${files}`);
  return ['# Generated by gridlink harness/cluster/config.ts: countable GPUs, placeholder device files.', ...lines].join('\n') + '\n';
}

/** Pure: same input, same text. Validates with zod and throws ZodError on bad input. */
export function generateConfig(input: SlurmConfigInput): GeneratedConfig {
  const c = slurmConfigChecked.parse(input);
  const p = clusterPaths(c.baseDir);
  const n = c.node;
  const multi = c.nodes > 1;
  const names = computeNodeNames(c);
  const hw =
    `CPUs=${n.cpus} Boards=${n.boards} SocketsPerBoard=${n.socketsPerBoard} CoresPerSocket=${n.coresPerSocket} ` +
    `ThreadsPerCore=${n.threadsPerCore} RealMemory=${n.realMemoryMB} State=UNKNOWN` +
    (c.gpusPerNode > 0 ? ` Gres=gpu:${c.gpusPerNode}` : '');
  // Several slurmd on one host: each claims the host's hardware, listens on
  // its own port and needs its own spool dir, pid file and log (%n = node name).
  const nodeLines = multi
    ? names.map((name, i) => `NodeName=${name} NodeHostname=${c.controlHost} NodeAddr=${c.nodeAddr} Port=${c.slurmdPorts![i]} ${hw}`)
    : [`NodeName=${c.nodeName} NodeAddr=${c.nodeAddr} ${hw}`];
  const pluginDir = [c.pluginDir, ...c.extraPluginDirs].join(':');
  const lines: string[] = [
    multi
      ? `# Generated by gridlink harness/cluster/config.ts: a ${c.nodes}-node test cluster on loopback, one slurmd per node on this host.`
      : '# Generated by gridlink harness/cluster/config.ts: a one-node test cluster on loopback.',
    `ClusterName=${c.clusterName}`,
    `SlurmctldHost=${c.controlHost}(${c.controlAddr})`,
    `SlurmctldPort=${c.ctldPort}`,
    `SlurmdPort=${c.slurmdPort}`,
    'SlurmUser=root',
    'SlurmdUser=root',
    `StateSaveLocation=${p.stateDir}`,
    `SlurmdSpoolDir=${multi ? path.join(p.spoolDir, '%n') : p.spoolDir}`,
    `SlurmctldLogFile=${p.ctldLog}`,
    `SlurmdLogFile=${multi ? p.slurmdLogPattern : p.slurmdLog}`,
    `SlurmctldPidFile=${p.ctldPid}`,
    `SlurmdPidFile=${multi ? p.slurmdPidPattern : p.slurmdPid}`,
    `SlurmctldDebug=${c.ctldDebug}`,
    `SlurmdDebug=${c.slurmdDebug}`,
    `PluginDir=${pluginDir}`,
    'AuthType=auth/munge',
    'CredType=cred/munge',
    // No cgroup plugins: they need a delegated cgroup tree we don't have here.
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_Core_Memory',
    `DefMemPerCPU=${c.defMemPerCpuMB}`,
    ...(c.schedulerParameters ? [`SchedulerParameters=${c.schedulerParameters}`] : []),
    // No AccountingStorageTRES=gres/gpu: without slurmdbd slurmctld refuses to
    // start with it ("slurmdbd is required to run with TRES gres/gpu").
    ...(c.gpusPerNode > 0 ? ['GresTypes=gpu'] : []),
    'MpiDefault=none',
    'SwitchType=switch/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    `JobCompType=${c.jobComp?.type ?? 'jobcomp/none'}`,
    ...(c.jobComp?.loc ? [`JobCompLoc=${c.jobComp.loc}`] : []),
    ...(c.spank.length > 0 ? [`PlugStackConfig=${p.plugstackConf}`] : []),
    // Only loopback: tests must not listen on the machine's other interfaces.
    'CommunicationParameters=NoCtldInAddrAny,NoInAddrAny',
    // The default MailProg (/usr/bin/mail) is not installed: slurmctld logs an error at start.
    'MailProg=/bin/true',
    // Short timers: tests wait on these.
    `MinJobAge=${c.minJobAge}`,
    `KillWait=${c.killWait}`,
    'InactiveLimit=0',
    'OverTimeLimit=0',
    'SlurmctldTimeout=10',
    'SlurmdTimeout=30',
    'MessageTimeout=10',
    // A node that was DOWN (e.g. slurmd restarted) comes back by itself once it registers.
    'ReturnToService=2',
    ...(c.firstJobId !== undefined ? [`FirstJobId=${c.firstJobId}`] : []),
    ...nodeLines,
    `PartitionName=${c.partition} Nodes=${names.join(',')} Default=YES MaxTime=INFINITE State=UP`,
    ...c.extraLines,
  ];
  const out: GeneratedConfig = { slurmConf: lines.join('\n') + '\n' };
  if (c.spank.length > 0) out.plugstackConf = generatePlugstackConf(c.spank);
  if (c.gpusPerNode > 0) out.gresConf = generateGresConf(names, c.gpusPerNode, p.gpuDir);
  return out;
}
