// relay.ts - `gridlink relay`: the spool relay as a standalone process, for
// operators who keep JavaScript out of their SLURM daemons (same code as the
// embedded relay). Runs until SIGTERM/SIGINT, then stops gracefully (exit 0).

import { Command } from 'commander';
import { pino } from 'pino';
import { Registry } from 'prom-client';

import { configFromFlat, type FlatRelayOptions } from '../relay/config.js';
import { startRelay } from '../relay/relay.js';
import { startRelayUsersPull } from '../relay/users-pull.js';
import { serveOps } from '../util/ops-server.js';
import { nonNegative } from './parse.js';

interface RelayFlags {
  spool?: string;
  reporter?: string;
  daemon?: string;
  host?: string;
  auth?: string;
  mungeSocket?: string;
  hmacKeyFile?: string;
  hmacKeyId?: string;
  hooks?: string;
  hookTimeoutMs?: number;
  quarantine?: string;
  batchMaxRecords?: number;
  batchMaxBytes?: number;
  batchesInFlight?: number;
  requestTimeoutMs?: number;
  httpClient?: string;
  pollMs?: number;
  usersUrl?: string;
  usersDb?: string;
  usersPollMs?: number;
  config?: string;
  metricsPort?: number;
  metricsHost: string;
  logLevel: string;
}


export function relayCommand(): Command {
  return new Command('relay')
    .description(
      'drain a gridlink spool into the reporter: batches records, authenticates each batch (munge or HMAC), POSTs it, and acks only what the reporter durably stored; runs until SIGTERM/SIGINT',
    )
    .option('--spool <dir>', 'spool directory, e.g. /var/spool/gridlink/slurmd (required unless in --config)')
    .option('--reporter <url>', 'reporter base URL, e.g. http://supervisor:7390 (the relay POSTs to <url>/v1/events; required unless in --config)')
    .option('--daemon <name>', 'whose spool this is: slurmctld or slurmd (default: slurmd)')
    .option('--host <name>', 'host name sent with each batch (default: this host\'s name)')
    .option('--auth <kind>', 'batch authentication: munge or hmac (default: munge; hmac when --hmac-key-file is given)')
    .option('--munge-socket <path>', 'munged socket (default: libmunge\'s)')
    .option('--hmac-key-file <file>', 'HMAC key file: a regular file, mode 0600 or 0400, owned by root (for reporters outside the munge realm)')
    .option('--hmac-key-id <id>', 'key id the reporter knows this key by')
    .option('--hooks <file>', 'absolute path of a JS module exporting onJobStart / onJobEnd / onJobComplete')
    .option('--hook-timeout-ms <ms>', 'time limit of one hook call (default: 2000)', nonNegative('--hook-timeout-ms'))
    .option('--quarantine <file>', 'where records the reporter rejects go (default: <spool>/quarantine.jsonl)')
    .option('--batch-max-records <n>', 'records per batch (default: 2000; batch_max_bytes caps it too)', nonNegative('--batch-max-records'))
    .option('--batch-max-bytes <n>', 'bytes per batch body (default: 1048576; 65536 to 4194304)', nonNegative('--batch-max-bytes'))
    .option('--batches-in-flight <n>', 'batches sent before the first one is answered, pipelined on one connection (default: 4; 1 to 16)', nonNegative('--batches-in-flight'))
    .option('--request-timeout-ms <ms>', 'time limit of one POST (default: 30000)', nonNegative('--request-timeout-ms'))
    .option('--http-client <kind>', 'HTTP client: undici, or node (Node\'s http/https: ~11 MB less memory) (default: undici)')
    .option('--poll-ms <ms>', 'spool poll interval; the spool directory is also watched (default: 1000)', nonNegative('--poll-ms'))
    .option('--users-url <url>', 'users.resolver "gridlink": pull the users database from the supervisor\'s users.gridlink.sync.listen, e.g. http://supervisor:7391 (munge authentication)')
    .option('--users-db <file>', 'where the users database is kept for the NSS module (default: /var/lib/gridlink/nss/users.cdb)')
    .option('--users-poll-ms <ms>', 'how often the users database is asked for (default: 2000)', nonNegative('--users-poll-ms'))
    .option('--config <file>', 'JSON file with the same settings (spoolDir, reporterUrl, auth, hooks, backoff...); flags override it')
    .option('--metrics-port <port>', 'serve Prometheus metrics on http://<metrics-host>:<port>/metrics', nonNegative('--metrics-port'))
    .option('--metrics-host <addr>', 'address for --metrics-port', '127.0.0.1')
    .option('--log-level <level>', 'pino log level: trace, debug, info, warn, error', 'info')
    .action(async (f: RelayFlags) => {
      const flat: FlatRelayOptions = {
        spoolDir: f.spool,
        reporterUrl: f.reporter,
        daemon: f.daemon,
        host: f.host,
        authKind: f.auth,
        mungeSocket: f.mungeSocket,
        hmacKeyFile: f.hmacKeyFile,
        hmacKeyId: f.hmacKeyId,
        hooksModule: f.hooks,
        hookTimeoutMs: f.hookTimeoutMs,
        quarantineFile: f.quarantine,
        batchMaxRecords: f.batchMaxRecords,
        batchMaxBytes: f.batchMaxBytes,
        batchesInFlight: f.batchesInFlight,
        requestTimeoutMs: f.requestTimeoutMs,
        httpClient: f.httpClient,
        pollIntervalMs: f.pollMs,
        usersUrl: f.usersUrl,
        usersDb: f.usersDb,
        usersPollMs: f.usersPollMs,
        configFile: f.config,
      };
      const config = configFromFlat(flat);
      const logger = pino({ name: 'gridlink-relay', level: f.logLevel });
      const registry = new Registry();
      const metricsServer = f.metricsPort !== undefined ? await serveOps({ registry, host: f.metricsHost, port: f.metricsPort }) : undefined;
      const relay = startRelay(config, { logger, registry });
      const users = startRelayUsersPull(config, logger);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'));
        process.once('SIGINT', () => resolve('SIGINT'));
      });
      logger.info({ signal }, 'signal received: stopping');
      // A second signal, or a stop that hangs, still ends the process.
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      process.once(signal, () => process.exit(1));
      users?.stop();
      await relay.stop();
      await metricsServer?.close();
      process.exitCode = 0;
    });
}
