// gridlink/supervisor: claims Meta-Scheduler jobs and runs them on SLURM (library entry point).
export { startSupervisor, type Supervisor, type SupervisorDeps } from './service.js';
export {
  supervisorConfigSchema,
  parseSupervisorConfig,
  SupervisorConfigError,
  type SupervisorConfig,
  type SupervisorConfigInput,
} from './config.js';
