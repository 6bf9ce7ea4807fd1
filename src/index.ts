// gridlink as a library. The Meta-Scheduler client is exported here in full;
// the services' entry points too. Each part also has its own subpath:
// gridlink/metascheduler, gridlink/reporter, gridlink/supervisor,
// gridlink/relay, gridlink/spool. The native addon (spool, munge, SLURM) is
// loaded on first use only, so the client works where it is not built.
export * from './metascheduler/index.js';
export { startReporter, type Reporter, type StartReporterDeps } from './reporter/index.js';
export { startSupervisor, type Supervisor, type SupervisorDeps } from './supervisor/index.js';
export { startRelay, type Relay, type RelayStats, type StartRelayOptions } from './relay/index.js';
export { SpoolReader, SpoolWriter, type SpoolRecord, type SpoolStat, type EventInput, type JobEvent } from './native/index.js';
