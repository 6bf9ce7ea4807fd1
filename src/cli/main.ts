#!/usr/bin/env -S node --max-semi-space-size=2
// main.ts - the `gridlink` command. A 2 MB young generation keeps the long-running
// commands (reporter, relay) small: measured with the reporter after 100,000
// events, 226 MB RSS with V8's default, 127-142 MB with 1-4 MB, throughput unchanged.
import { readFileSync } from 'node:fs';

import { Command } from 'commander';

import { doctorCommand } from './doctor.js';
import { jobCommand } from './job.js';
import { ldapConnectorCommand } from './ldap-connector.js';
import { pluginsCommand } from './plugins.js';
import { relayCommand } from './relay.js';
import { reporterCommand } from './reporter.js';
import { reportsCommand } from './reports.js';
import { sbatchServiceCommand } from './sbatch-service.js';
import { spoolCommand } from './spool.js';
import { statusCommand } from './status.js';
import { supervisorCommand } from './supervisor.js';

/** The version in package.json (src/cli or dist/cli are two levels below it). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildCli(): Command {
  const program = new Command('gridlink')
    .description('gridlink: connect a SLURM cluster to the grid Meta-Scheduler')
    .version(packageVersion(), '-V, --version', 'print the gridlink version')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  program.addCommand(spoolCommand());
  program.addCommand(supervisorCommand());
  program.addCommand(reporterCommand());
  program.addCommand(relayCommand());
  program.addCommand(reportsCommand());
  program.addCommand(sbatchServiceCommand());
  program.addCommand(ldapConnectorCommand());
  program.addCommand(pluginsCommand());
  program.addCommand(statusCommand());
  program.addCommand(jobCommand());
  program.addCommand(doctorCommand());
  return program;
}

try {
  await buildCli().parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`gridlink: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
