// subject.ts - what the plugin acceptance cases (test/plugins/cases/) run
// against: a SLURM cluster with jobcomp/provider and spank/provider loaded,
// its clients, its spools and its daemons' logs. Two kinds: a cluster of
// this host's daemons (with-plugins.ts: Debian's or a matrix release) and
// the slurm-in-docker cluster of a Debian release, its daemons from the
// release's packages (test/containers/plugin-subject.ts).
import type { JobInfo, WaitJobOptions } from '../../harness/cluster/index.js';
import type { JobEvent } from '../../src/native/index.js';
import type { RunOptions, RunResult } from '../../src/util/run-command.js';

/** The SLURM side the cases drive: harness/cluster's Cluster has it, and so has a container cluster's controller. */
export interface SlurmClient {
  /** ClusterName. */
  readonly name: string;
  /** The first compute node (a one-node job without --nodelist may run on any of nodeNames). */
  readonly nodeName: string;
  readonly nodeNames: readonly string[];
  /** A command where the SLURM clients are (this host, or the controller's container); throws on non-zero exit unless allowFail. */
  run(cmd: string, args: string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  /** Submits `script` on stdin as root; returns the job id. */
  sbatch(args: string[], script: string): Promise<number>;
  waitJob(jobId: number, o?: WaitJobOptions): Promise<JobInfo>;
  cancel(jobId: number): Promise<void>;
  /** Makes a running job time out now. */
  forceTimeout(jobId: number): Promise<void>;
  /** sinfo's short state of a node (default nodeName). */
  nodeState(node?: string): Promise<string>;
  /** Kills slurmctld with a signal, no grace period. */
  killCtld(signal?: NodeJS.Signals): Promise<void>;
  /** Starts slurmctld again on its saved state and waits for every node to answer. */
  restartCtld(): Promise<void>;
}

export interface PluginSubject {
  readonly cluster: SlurmClient;
  /** Every unacknowledged record of slurmctld's jobcomp spool. */
  ctldEvents(): JobEvent[];
  /** Every unacknowledged record of the node spools, one array per spool (one spool for every node of this host; one per node container). */
  nodeSpools(): JobEvent[][];
  /** slurmctld's log so far / the slurmd logs so far (every node's). */
  ctldLog(): Promise<string>;
  slurmdLog(): Promise<string>;
}

/** The records of every node spool. */
export const nodeEvents = (s: PluginSubject): JobEvent[] => s.nodeSpools().flat();

/** How a failure-mode case configures the plugins (each gets fresh spools). */
export interface PluginSetup {
  jobCompOptions?: string[];
  spankOptions?: string[];
  /** Both spools under /proc/gridlink (no directory can be created there). */
  unwritableSpools?: boolean;
}

/** Starts (or reconfigures) a subject with this setup; the caller stops or restores it after each case. */
export type StartSubject = (setup: PluginSetup) => Promise<PluginSubject>;
