// supervisor.ts - `gridlink supervisor [run]`: registration, claims,
// submissions as the customer, cancellations, top-ups and the reporter, in
// one process (the only holder of the provider key); and
// `gridlink supervisor config-reference` (the configuration reference).
import { Command, Option } from 'commander';
import { pino } from 'pino';

import { PROVIDER_KEY_ENV } from '../reporter/provider-key.js';
import { loadConfigInput } from '../util/config-env.js';
import { formatResolvedConfig } from '../util/config-print.js';
import { configReference } from '../supervisor/config-reference.js';
import { parseSupervisorConfig, SUPERVISOR_CREDIT_FIELDS, supervisorConfigSchema } from '../supervisor/config.js';
import { startSupervisor } from '../compose/supervisor-root.js';
import { untilSignal } from './ingest-options.js';

interface RunOpts {
  config?: string;
  logLevel: string;
  checkConfig?: boolean;
}

export function supervisorCommand(): Command {
  const sup = new Command('supervisor').description(
    'the provider\'s supervisor: registers the cluster, claims grid jobs, fetches their scripts from the sbatch service and submits them ' +
      'to SLURM as the customer\'s own Linux user with exactly the paid resources; serves cancellations and top-ups; runs the reporter ' +
      '(ingest, statuses and billed minutes) on the same store and transaction pipeline',
  );
  const run = new Command('run')
    .description(
      'run until SIGTERM or SIGINT (then: stop claiming, finish the submissions in flight, stop the reporter, exit 0). ' +
        'Configuration: the JSON file of --config with GRIDLINK_<PATH> environment variables on top (GRIDLINK_CHAIN__RPC_URL, ...); ' +
        `see \`gridlink supervisor config-reference\`. The provider key comes from chain.keyFile or $${PROVIDER_KEY_ENV}, or stays in a remote signer (chain.signer). Logs are JSON lines on stdout.`,
    )
    .option('--config <file>', 'JSON configuration file')
    .option('--check-config', 'validate the configuration, print it resolved and exit')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error']).default('info'))
    .action(async (o: RunOpts) => {
      const logger = pino({ name: 'gridlink-supervisor', level: o.logLevel });
      const { config: input, applied } = loadConfigInput(o.config, process.env, supervisorConfigSchema, 'supervisor configuration');
      const config = parseSupervisorConfig(input);
      if (o.checkConfig) {
        process.stdout.write(formatResolvedConfig(config, SUPERVISOR_CREDIT_FIELDS) + '\n');
        return;
      }
      if (applied.length) logger.info({ fromEnvironment: applied }, 'supervisor: configuration overridden from the environment');
      const sup = await startSupervisor(config, { logger });
      await untilSignal(logger, 'supervisor', () => sup.stop());
    });
  sup.addCommand(run, { isDefault: true });
  sup.addCommand(
    new Command('config-reference').description('print the configuration reference (Markdown), generated from the schema').action(() => {
      process.stdout.write(configReference());
    }),
  );
  return sup;
}
