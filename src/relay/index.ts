// index.ts - gridlink/relay: the relay, its configuration, hooks and metrics
// (library entry point).
export { startRelay, type Relay, type RelayStats, type StartRelayOptions } from './relay.js';
export {
  parseRelayConfig,
  parseRelayOptions,
  configFromFlat,
  loadHmacKey,
  relayConfigSchema,
  RELAY_OPTION_KEYS,
  type RelayConfig,
  type RelayConfigInput,
  type AuthConfig,
  type FlatRelayOptions,
} from './config.js';
export { HookRunner, type GridlinkHooks, type GridlinkHookEvent, type HookName, type HookStats } from './hooks.js';
export { createRelayMetrics, type RelayMetrics } from './metrics.js';
export { QuarantineFile, type QuarantineEntry } from './quarantine.js';
export { createAuthenticator, type Authenticator } from './auth.js';
export { createTransport } from './choose-transport.js';
export { ingestUrl, type Answer, type HttpClientKind, type Transport } from './transport.js';
export { toWireEvent } from './wire.js';
export * from './protocol.js';
