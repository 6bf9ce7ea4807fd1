import path from 'node:path';

/**
 * Where everything of one test cluster lives. One base dir per cluster so a
 * crashed run can never leak state, pid files or sockets into the next one.
 */
export interface ClusterPaths {
  baseDir: string;
  slurmConf: string;
  plugstackConf: string;
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
}

export function clusterPaths(baseDir: string): ClusterPaths {
  const b = path.resolve(baseDir);
  const logDir = path.join(b, 'log');
  const runDir = path.join(b, 'run');
  return {
    baseDir: b,
    slurmConf: path.join(b, 'slurm.conf'),
    plugstackConf: path.join(b, 'plugstack.conf'),
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
  };
}
