// cli-entry.ts - `gridlink reporter ...` alone (the same command object main.ts
// registers), so these tests do not depend on the other commands' modules.
import { Command } from 'commander';

import { reporterCommand } from '../../src/cli/reporter.js';

try {
  await new Command('gridlink').addCommand(reporterCommand()).parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`gridlink: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
