// job.ts - `gridlink job`: the customer's side of the grid (submit, status,
// cancel, top-up, logs), each subcommand a thin layer over gridlink/customer.
import { Command } from 'commander';

import { jobCancelCommand } from './job-cancel.js';
import { jobLogsCommand } from './job-logs.js';
import { jobStatusCommand } from './job-status.js';
import { jobSubmitCommand } from './job-submit.js';
import { jobTopUpCommand } from './job-top-up.js';

export function jobCommand(): Command {
  return new Command('job')
    .description("the customer's side: submit a batch script to the grid, follow it, its status and bill, cancel, top up, read its output")
    .addHelpText('after', `
Where: on a machine running \`npm run devnet\`, the devnet's chain, contracts, sbatch service and customer account are used.
Elsewhere pass --rpc-url, --meta-scheduler, --key-file (mode 0600) and --sbatch, or set GRIDLINK_RPC_URL, GRIDLINK_META_SCHEDULER,
GRIDLINK_CUSTOMER_KEY_FILE (or GRIDLINK_CUSTOMER_KEY) and GRIDLINK_SBATCH.`)
    .addCommand(jobSubmitCommand())
    .addCommand(jobStatusCommand())
    .addCommand(jobCancelCommand())
    .addCommand(jobTopUpCommand())
    .addCommand(jobLogsCommand());
}
