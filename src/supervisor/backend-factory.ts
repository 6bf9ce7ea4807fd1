// backend-factory.ts - the configured SLURM backend. Loaded on demand: the
// `ssh` backend never loads libslurm, the `local` one never loads ssh2.
import type { Logger } from 'pino';

import type { SlurmBackend } from '../slurm/backend.js';
import type { SupervisorConfig } from './config.js';

export async function createSlurmBackend(config: SupervisorConfig, log: Logger): Promise<SlurmBackend> {
  if (config.slurm.backend === 'ssh') {
    const ssh = config.slurm.ssh;
    if (!ssh) throw new Error('slurm.backend is "ssh" but slurm.ssh is not configured');
    const { createSshBackend } = await import('../slurm/ssh.js');
    return createSshBackend({ ...ssh, logger: log });
  }
  const { createLocalBackend } = await import('../slurm/local.js');
  return createLocalBackend(config.slurm.slurmConf ? { slurmConf: config.slurm.slurmConf } : {});
}
