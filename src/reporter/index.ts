// gridlink/reporter: the ingest server and the chain reporter (library entry point).
export { startReporter, type Reporter, type StartReporterDeps } from './service.js';
export {
  chainReporterConfigSchema,
  parseChainReporterConfig,
  ReporterConfigError,
  type ChainReporterConfig,
  type ChainReporterConfigInput,
} from './config.js';
export * from './ingest/index.js';
