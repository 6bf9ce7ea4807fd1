#!/usr/bin/env node
// main.ts - the `gridlink` command.
import { Command } from 'commander';

import { relayCommand } from './relay.js';
import { reporterCommand } from './reporter.js';
import { reportsCommand } from './reports.js';
import { spoolCommand } from './spool.js';

export function buildCli(): Command {
  const program = new Command('gridlink')
    .description('gridlink: connect a SLURM cluster to the grid Meta-Scheduler')
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(s) });
  program.addCommand(spoolCommand());
  program.addCommand(reporterCommand());
  program.addCommand(relayCommand());
  program.addCommand(reportsCommand());
  return program;
}

try {
  await buildCli().parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`gridlink: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
