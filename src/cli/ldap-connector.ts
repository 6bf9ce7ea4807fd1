// ldap-connector.ts - `gridlink ldap-connector`: the identity connector on
// its own. `ensure` creates (or finishes) the users of given addresses,
// `check` tests the connection, bind, usersDn and group, `run` follows a
// provider's claims on chain and creates their customers' users ahead of the
// supervisor. The supervisor does the same itself before each submission
// (users.resolver "ldap"); running this too is optional.
import { readFileSync } from 'node:fs';

import { Command, Option } from 'commander';
import { destination, pino, type Logger } from 'pino';
import { createPublicClient, http, type Address } from 'viem';

import { followClaims } from '../ldap/claim-follower.js';
import { connectorConfigReference, connectorConfigSchema, parseConnectorConfig, type ConnectorConfig } from '../ldap/connector-config.js';
import { createLdapConnector, DirectoryError, type DirectoryUser } from '../ldap/index.js';
import { loadConfigInput } from '../util/config-env.js';
import { inParallel } from '../util/in-parallel.js';
import { untilSignal } from './ingest-options.js';

interface CommonOpts {
  config?: string;
  logLevel: string;
}

/** The configuration and a logger, or exit 2 with the configuration's problem. */
function load(o: CommonOpts): { config: ConnectorConfig; log: Logger } {
  // Logs go to stderr: `ensure` prints its results on stdout.
  const log = pino({ name: 'gridlink-ldap-connector', level: o.logLevel }, destination(2));
  try {
    const { config: input } = loadConfigInput(o.config, process.env, connectorConfigSchema, 'ldap-connector configuration');
    return { config: parseConnectorConfig(input), log };
  } catch (err) {
    fail(err);
  }
}

const common = (c: Command) =>
  c
    .option('--config <file>', 'JSON configuration file ({"ldap": {...}, "follow": {...}}); GRIDLINK_LDAP__URL etc. override it')
    .addOption(new Option('--log-level <level>', 'log level (JSON lines on stderr)').choices(['trace', 'debug', 'info', 'warn', 'error']).default('info'));

function fail(err: unknown): never {
  process.stderr.write(`gridlink ldap-connector: ${(err as Error).message}\n`);
  process.exit(2);
}

export function ldapConnectorCommand(): Command {
  const cmd = new Command('ldap-connector').description(
    'the identity connector: one Linux user per customer address in LDAP (389ds or OpenLDAP): a posixAccount named after the lower-case address, ' +
      'a unique uidNumber, the cluster-users group and a home directory (mode 0700) under homeRoot',
  );

  cmd.addCommand(
    common(new Command('ensure'))
      .description('create or finish the users of ADDRESS... (and of --from FILE, one address per line); prints "name uid gid home created|exists" per user; exit 1 when any failed')
      .argument('[addresses...]', 'customer addresses (0x + 40 hex digits)')
      .option('--from <file>', 'read addresses from FILE (one per line; - for stdin)')
      .option('--concurrency <n>', 'users created at once', (v) => Math.max(1, Math.min(256, Number(v) || 1)), 8)
      .option('--json', 'one JSON object per line instead')
      .action(async (addresses: string[], o: CommonOpts & { from?: string; concurrency: number; json?: boolean }) => {
        const { config, log } = load(o);
        const all = [...addresses];
        if (o.from) all.push(...readFileSync(o.from === '-' ? 0 : o.from, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean));
        const connector = createLdapConnector({ config: config.ldap, log });
        let failed = 0;
        const print = (u: DirectoryUser) =>
          process.stdout.write(o.json ? JSON.stringify({ name: u.name, uid: u.uid, gid: u.gid, home: u.home, created: u.created }) + '\n' : `${u.name} ${u.uid} ${u.gid} ${u.home} ${u.created ? 'created' : 'exists'}\n`);
        await inParallel(all, o.concurrency, async (a) => {
          try {
            print(await connector.ensureUser(a));
          } catch (err) {
            failed++;
            const e = err instanceof DirectoryError ? err : undefined;
            process.stderr.write(`${JSON.stringify(a.slice(0, 64))}: ${e ? `${e.kind}: ` : ''}${(err as Error).message}\n`);
          }
        });
        await connector.close();
        process.exitCode = failed ? 1 : 0;
      }),
  );

  cmd.addCommand(
    common(new Command('check'))
      .description('connect (TLS verified), bind, and check that usersDn and the group exist with the configured gidNumber; exit 0 when all hold')
      .action(async (o: CommonOpts) => {
        const { config, log } = load(o);
        const connector = createLdapConnector({ config: config.ldap, log });
        try {
          const r = await connector.check();
          process.stdout.write(`ok: ${config.ldap.url} as ${config.ldap.bindDn}; ${r.usersDn} exists; ${r.group} (gid ${config.ldap.group.gidNumber}) has ${r.members} members\n`);
        } catch (err) {
          process.stdout.write(`FAILED: ${(err as Error).message}\n`);
          process.exitCode = 1;
        } finally {
          await connector.close();
        }
      }),
  );

  cmd.addCommand(
    common(new Command('run'))
      .description('follow the claims of config.follow.provider on chain and create each claimed job\'s customer\'s user; runs until SIGTERM or SIGINT')
      .action(async (o: CommonOpts) => {
        const { config, log } = load(o);
        const f = config.follow;
        if (!f) fail(new Error('`run` needs the follow section in the configuration (rpcUrl, metaScheduler, provider, stateFile)'));
        const connector = createLdapConnector({ config: config.ldap, log });
        const ac = new AbortController();
        const publicClient = createPublicClient({ transport: http(f.rpcUrl, { retryCount: 2, timeout: 10_000 }), cacheTime: 0 });
        log.info({ provider: f.provider, directory: config.ldap.url }, 'ldap-connector: following claims');
        const done = followClaims({
          connector,
          publicClient: publicClient as never,
          metaScheduler: f.metaScheduler as Address,
          provider: f.provider as Address,
          confirmations: f.confirmations,
          logRange: f.logRange,
          pollMs: f.pollMs,
          fromBlock: f.fromBlock,
          stateFile: f.stateFile,
          concurrency: f.concurrency,
          log,
          signal: ac.signal,
        });
        await untilSignal(log, 'ldap-connector', async () => {
          ac.abort();
          await done;
          await connector.close();
        });
      }),
  );
  cmd.addCommand(
    new Command('config-reference').description('print the configuration reference (Markdown), generated from the schema').action(() => {
      process.stdout.write(connectorConfigReference());
    }),
  );
  return cmd;
}
