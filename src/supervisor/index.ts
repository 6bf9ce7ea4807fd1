// gridlink/supervisor: claims Meta-Scheduler jobs and runs them on SLURM (library entry point;
// startSupervisor is the supervisor process, its composition root in src/compose).
export { startSupervisor, type Supervisor, type SupervisorDeps } from '../compose/supervisor-root.js';
export {
  supervisorConfigSchema,
  parseSupervisorConfig,
  SupervisorConfigError,
  type SupervisorConfig,
  type SupervisorConfigInput,
} from './config.js';
