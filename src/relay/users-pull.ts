// users-pull.ts - the relay's second job with users.resolver "gridlink": keep
// this host's users database (/var/lib/gridlink/nss/users.cdb, read by the NSS
// module) at the supervisor's version, pulled with the relay's own munge
// authentication (src/userdb/sync-pull.ts). Off unless users_url is given.
import type { Logger } from 'pino';

import { startUsersPull, type UsersPuller } from '../userdb/sync-pull.js';
import { createAuthenticator } from './auth.js';
import type { RelayConfig } from './config.js';

export function startRelayUsersPull(config: RelayConfig, logger: Logger): UsersPuller | undefined {
  if (!config.users) return undefined;
  const log = logger.child({ part: 'users' });
  log.info({ url: config.users.url, path: config.users.path, host: config.host }, 'pulling the users database');
  return startUsersPull({ url: config.users.url, path: config.users.path, host: config.host, intervalMs: config.users.intervalMs, authenticate: createAuthenticator(config.auth), log });
}
