// embedded.ts - entry module of the Node runtime embedded in slurmctld/slurmd.
// Options come as key=value arguments (parseRelayOptions). It never calls
// process.exit and never lets an error escape: a bad configuration is logged
// and nothing starts (the daemon keeps running; the spool keeps the events).
import { destination, pino, type Logger } from 'pino';

import { parseRelayOptions } from './config.js';
import { startRelay, type Relay } from './relay.js';
import { startRelayUsersPull } from './users-pull.js';
import type { UsersPuller } from '../userdb/sync-pull.js';

declare global {
  // eslint-disable-next-line no-var
  var __gridlinkRelayStop: (() => Promise<void>) | undefined;
}

function makeLogger(file: string | undefined, level: string | undefined): Logger {
  const dest = file ? destination({ dest: file, mkdir: true, sync: false }) : destination({ dest: 2, sync: true });
  return pino({ name: 'gridlink-relay', level: level ?? 'info' }, dest);
}

let logger: Logger = pino({ name: 'gridlink-relay' }, destination({ dest: 2, sync: true }));
let relay: Relay | undefined;
let users: UsersPuller | undefined;

process.on('uncaughtException', (err) => logger.error({ error: err.stack ?? String(err) }, 'uncaught exception in the relay runtime (kept running)'));
process.on('unhandledRejection', (err) => logger.error({ error: (err as Error)?.stack ?? String(err) }, 'unhandled rejection in the relay runtime (kept running)'));

try {
  // Node's own HTTP client unless the plugin options say otherwise: undici's
  // WebAssembly parser would cost every slurmctld and slurmd ~11 MB of RSS.
  const { config, runtime } = parseRelayOptions(['http_client=node', ...process.argv.slice(2)]);
  logger = makeLogger(runtime.logFile, runtime.logLevel);
  relay = startRelay(config, { logger });
  users = startRelayUsersPull(config, logger);
} catch (err) {
  logger.error({ error: (err as Error).message, argv: process.argv.slice(2) }, 'gridlink relay not started: fix the plugin options');
}

globalThis.__gridlinkRelayStop = async () => {
  try {
    users?.stop();
    await relay?.stop();
  } catch (err) {
    logger.error({ error: (err as Error).message }, 'error while stopping the relay');
  }
};
