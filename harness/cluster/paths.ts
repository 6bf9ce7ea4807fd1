// paths.ts - the files and directories of one test cluster under its base dir
// (slurm.conf, state, spool, logs, one slurmd's files per node).
import path from 'node:path';

/**
 * Where everything of one test cluster lives. One base dir per cluster so a
 * crashed run can never leak state, pid files or sockets into the next one.
 */
export interface ClusterPaths {
  baseDir: string;
  slurmConf: string;
  plugstackConf: string;
  /** Beside slurm.conf, for a SLURM of another prefix only (see StartClusterOptions.slurmPrefix). */
  cgroupConf: string;
  /** Beside slurm.conf: slurmd reads gres.conf from slurm.conf's directory. */
  gresConf: string;
  /** Placeholder GPU "device" files gpu0..N-1 named by gres.conf's File=. */
  gpuDir: string;
  stateDir: string;
  spoolDir: string;
  logDir: string;
  runDir: string;
  /** Working directory of client commands: default sbatch output lands here. */
  jobsDir: string;
  ctldLog: string;
  slurmdLog: string;
  /** stdout/stderr of the foreground daemons (early errors before the log file opens). */
  ctldStdout: string;
  slurmdStdout: string;
  ctldPid: string;
  slurmdPid: string;
  /** Multi-node clusters: SlurmdLogFile and SlurmdPidFile with `%n` (the node name), see `slurmdNodePaths`. */
  slurmdLogPattern: string;
  slurmdPidPattern: string;
}

/** One slurmd's files. */
export interface SlurmdNodePaths {
  spoolDir: string;
  log: string;
  stdout: string;
  pid: string;
}

/**
 * The files of node `nodeName`'s slurmd: in a one-node cluster the classic
 * paths, in a multi-node one what slurmd makes of the `%n` patterns
 * (SlurmdSpoolDir=<spoolDir>/%n) plus our own stdout file per node.
 */
export function slurmdNodePaths(p: ClusterPaths, nodeName: string, multi: boolean): SlurmdNodePaths {
  if (!multi) return { spoolDir: p.spoolDir, log: p.slurmdLog, stdout: p.slurmdStdout, pid: p.slurmdPid };
  return {
    spoolDir: path.join(p.spoolDir, nodeName),
    log: p.slurmdLogPattern.replace('%n', nodeName),
    stdout: path.join(p.logDir, `slurmd-${nodeName}.stdout`),
    pid: p.slurmdPidPattern.replace('%n', nodeName),
  };
}

export function clusterPaths(baseDir: string): ClusterPaths {
  const b = path.resolve(baseDir);
  const logDir = path.join(b, 'log');
  const runDir = path.join(b, 'run');
  return {
    baseDir: b,
    slurmConf: path.join(b, 'slurm.conf'),
    plugstackConf: path.join(b, 'plugstack.conf'),
    cgroupConf: path.join(b, 'cgroup.conf'),
    gresConf: path.join(b, 'gres.conf'),
    gpuDir: path.join(b, 'gpus'),
    stateDir: path.join(b, 'state'),
    spoolDir: path.join(b, 'spool'),
    logDir,
    runDir,
    jobsDir: path.join(b, 'jobs'),
    ctldLog: path.join(logDir, 'slurmctld.log'),
    slurmdLog: path.join(logDir, 'slurmd.log'),
    ctldStdout: path.join(logDir, 'slurmctld.stdout'),
    slurmdStdout: path.join(logDir, 'slurmd.stdout'),
    ctldPid: path.join(runDir, 'slurmctld.pid'),
    slurmdPid: path.join(runDir, 'slurmd.pid'),
    slurmdLogPattern: path.join(logDir, 'slurmd-%n.log'),
    slurmdPidPattern: path.join(runDir, 'slurmd-%n.pid'),
  };
}
