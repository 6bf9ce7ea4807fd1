// index.ts - the test cluster harness (not shipped: tests and benchmarks start
// real SLURM clusters with it): startCluster and what it is made of.
export { startCluster, startClusterOptionsSchema, CLUSTER_MARKER_ENV } from './harness.js';
export type { Cluster, StartClusterOptions, WaitJobOptions } from './harness.js';
export {
  generateConfig,
  generatePlugstackConf,
  generateGresConf,
  computeNodeNames,
  slurmConfigSchema,
  nodeHardwareSchema,
  spankPluginSchema,
  DEBIAN_PLUGIN_DIR,
} from './config.js';
export type { SlurmConfig, SlurmConfigInput, NodeHardware, SpankPlugin, GeneratedConfig } from './config.js';
export { clusterPaths, slurmdNodePaths } from './paths.js';
export type { ClusterPaths, SlurmdNodePaths } from './paths.js';
export { parseRecord, parseRecords, toJobInfo } from '../../src/slurm/scontrol-records.js';
export { isTerminal, TERMINAL_JOB_STATES } from '../../src/slurm/states.js';
export type { JobInfo, ScontrolRecord } from '../../src/slurm/scontrol-records.js';
export { detectNodeHardware, parseSlurmdC, headroomMemory, shortHostname } from './hardware.js';
export { ensureMunge, mungeWorks } from './munge.js';
export { runCommand, tailFile, CommandError } from '../../src/util/run-command.js';
export type { RunOptions, RunResult } from '../../src/util/run-command.js';
export { CLUSTER_LOCK_PATH, CLUSTER_SLOT_ENV, clusterLockPath } from './lock.js';
