// gridlink/reporter: the ingest server and the chain reporter (library entry point).
// startReporter is the reporter-alone process (its composition root, src/compose).
export { startReporter, type StartReporterDeps } from '../compose/reporter-root.js';
export type { Reporter } from './service.js';
export {
  chainReporterConfigSchema,
  parseChainReporterConfig,
  ReporterConfigError,
  type ChainReporterConfig,
  type ChainReporterConfigInput,
} from './config.js';
export * from './ingest/index.js';
