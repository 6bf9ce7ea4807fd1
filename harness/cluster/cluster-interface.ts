// cluster-interface.ts - what a test gets from startCluster: a running SLURM
// cluster's names, ports, files and environment, and its operations
// (queries.ts: submit, show, wait; faults.ts: kill and restart daemons, force
// a timeout; harness.ts: start and stop).
import type { SlurmConfig } from './config.js';
import type { ClusterPaths } from './paths.js';
import type { RunOptions, RunResult } from '../../src/util/run-command.js';
import type { JobInfo, ScontrolRecord } from '../../src/slurm/scontrol-records.js';

export interface WaitJobOptions {
  /** Default: the job reached a terminal state (COMPLETED, FAILED, CANCELLED, TIMEOUT, ...). */
  until?: (job: JobInfo) => boolean;
  timeoutMs?: number;
  pollMs?: number;
}

export interface Cluster {
  readonly name: string;
  readonly baseDir: string;
  readonly confPath: string;
  /** The (first) compute node: every API below that takes an optional node defaults to it. */
  readonly nodeName: string;
  /** Every compute node, in slurm.conf order: `[nodeName]` in a one-node cluster. */
  readonly nodeNames: readonly string[];
  readonly partition: string;
  /** `slurmd` is the first node's port; `slurmds` every node's, in `nodeNames` order. */
  readonly ports: { ctld: number; slurmd: number; slurmds: readonly number[] };
  /** process.env without inherited SLURM_* / S*_ job variables, plus SLURM_CONF and the marker. */
  readonly env: NodeJS.ProcessEnv;
  /** `slurmd`/`slurmdStdout` are the first node's; `nodes` has every node's, by name. */
  readonly logs: {
    ctld: string;
    slurmd: string;
    ctldStdout: string;
    slurmdStdout: string;
    nodes: Readonly<Record<string, { slurmd: string; slurmdStdout: string }>>;
  };
  readonly paths: ClusterPaths;
  readonly config: SlurmConfig;
  /** Install prefix of the SLURM this cluster runs; undefined for the system's. */
  readonly slurmPrefix: string | undefined;
  /** Milliseconds from spawning the daemons to every node being idle, first start. */
  readonly startupMs: number;
  ctldPid(): number | undefined;
  /** PID of `node`'s slurmd (default the first node) while it runs. */
  slurmdPid(node?: string): number | undefined;
  /** Runs a command (typically a SLURM client) with `env`, cwd = paths.jobsDir; throws on non-zero exit unless allowFail. */
  run(cmd: string, args: string[], opts?: Omit<RunOptions, 'env'>): Promise<RunResult>;
  /** Submits `script` on stdin (a `#!/bin/sh` line is added if missing); returns the job id. */
  sbatch(args: string[], script: string): Promise<number>;
  /** `scontrol show job -o`; undefined once the job is purged (MinJobAge) or unknown. */
  showJob(jobId: number): Promise<JobInfo | undefined>;
  waitJob(jobId: number, opts?: WaitJobOptions): Promise<JobInfo>;
  /** `scontrol show node -o` of `node` (default the first node). */
  showNode(node?: string): Promise<ScontrolRecord>;
  /** sinfo's compact state of `node` (default the first node), e.g. idle, alloc, mix, idle*, down*, drain. */
  nodeState(node?: string): Promise<string>;
  cancel(jobId: number, extraArgs?: string[]): Promise<void>;
  /**
   * Sets a running job's TimeLimit to 0: slurmctld ends it with TIMEOUT at
   * its next time-limit sweep, which runs every 30 s (PERIODIC_TIMEOUT), so
   * 0-30 s later. The fastest real TIMEOUT: a 1-minute --time takes 60-90 s.
   */
  forceTimeout(jobId: number): Promise<void>;
  /**
   * Resolves once slurmctld has written its job state file after `sinceMs`
   * (epoch ms). It saves at most 5 s after a change (SAVE_MAX_WAIT): wait for
   * this before killCtld('SIGKILL') if the test needs the latest changes to survive.
   */
  waitStateSaved(sinceMs: number, timeoutMs?: number): Promise<void>;
  /** Signals slurmctld by PID and waits until it is gone (default SIGKILL: no state save). */
  killCtld(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Stops slurmctld if running (SIGTERM, saves state), starts it without -c so
   * state is recovered, waits until every node answers, then resumes any node
   * drained for a reused job id (see resumeDuplicateJobidDrains).
   */
  restartCtld(): Promise<void>;
  /**
   * Resumes each node drained with Reason "Duplicate jobid": after `kill -9`
   * slurmctld restarts from state up to SAVE_MAX_WAIT old and may hand out a
   * job id a slurmd still runs. Other drains are left alone. Returns the nodes resumed.
   */
  resumeDuplicateJobidDrains(): Promise<string[]>;
  /** Same for `node`'s slurmd (default the first node; e.g. to reload a SPANK plugin). Running steps survive it. */
  restartSlurmd(node?: string): Promise<void>;
  /** Cancels jobs, `scontrol shutdown`, then SIGTERM/SIGKILL by PID; kills leftover step daemons and jobs. Idempotent. */
  stop(): Promise<void>;
}
