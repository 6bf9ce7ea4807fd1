// reporter.ts - `gridlink reporter ingest|run`: the ingest endpoint alone, or
// the ingest and the chain reporter together (reporter-run.ts).
import { Command } from 'commander';
import { pino } from 'pino';

import { STATE_MIGRATIONS } from '../compose/state-schema.js';
import { HMAC_MAX_SKEW_S, INGEST_PATH } from '../relay/protocol.js';
import { resolveIngestConfig } from '../reporter/ingest/config.js';
import { startIngestServer } from '../reporter/ingest/server.js';
import { addIngestOptions, ingestInput, untilSignal, type IngestOpts } from './ingest-options.js';
import { reporterRunCommand } from './reporter-run.js';

export { parseListen } from './ingest-options.js';

export function reporterCommand(): Command {
  const reporter = new Command('reporter').description(
    'the reporter: receives job events from relays, verifies, deduplicates and stores them (ingest), and puts job statuses and billed minutes on chain (run)',
  );

  const ingest = new Command('ingest').description(
    `run the ingest endpoint (POST ${INGEST_PATH}, GET /healthz) until SIGTERM or SIGINT.\n` +
      'Each batch must carry X-Gridlink-Auth: a munge credential of the body digest made by uid 0 or SlurmUser, ' +
      `or an HMAC signed with a configured key (timestamp within ${HMAC_MAX_SKEW_S} s, nonce used once). ` +
      'Accepted records are committed to the SQLite state database DIR/gridlink.db before the answer (by a writer thread, the batches that arrive meanwhile in one transaction, synchronous=FULL); ' +
      '(spool id, seq) duplicates are stored once; HMAC nonces of the replay window are kept in the same database. ' +
      'Logs are JSON lines on stdout.',
  );
  addIngestOptions(ingest).action(async (opts: IngestOpts) => {
    const logger = pino({ name: 'gridlink-ingest', level: opts.logLevel });
    const server = await startIngestServer(resolveIngestConfig(ingestInput(opts)), { logger, migrations: STATE_MIGRATIONS });
    // A store that can take no more batches stops the server: exit non-zero, for the service manager to restart it.
    const failed = server.closed.then((why) => {
      if (why) process.exitCode = 1;
    });
    await Promise.race([untilSignal(logger, 'ingest', () => server.stop()), failed]);
  });
  reporter.addCommand(ingest);
  // `gridlink reporter ...` without a subcommand is `run`: the ingest and the chain reporter together.
  reporter.addCommand(reporterRunCommand(), { isDefault: true });
  return reporter;
}
