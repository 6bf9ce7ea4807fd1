// job-status.ts - `gridlink job status [ID]`: one job (chain status, credits,
// times; on a devnet its SLURM job, node, user and output file), or every
// job of the account.
import { Command } from 'commander';

import { list } from '../customer/list.js';
import { parseJobId, status } from '../customer/status.js';
import { connect, withConnection, type ConnectionOptions } from './job-connection.js';
import { renderJob, renderJobs } from './job-render.js';

export function jobStatusCommand(): Command {
  const cmd = new Command('status')
    .description("a job's status, credits (locked, cost, provider paid, refunded), times and (on a devnet) SLURM job, node, user and output file; without ID, every job of your account")
    .argument('[id]', 'the job id (0x + 64 hex digits)')
    .option('--json', 'machine-readable output (one object, or an array without ID)');
  return withConnection(cmd).action(async (id: string | undefined, o: ConnectionOptions & { json?: boolean }) => {
    const jobId = id === undefined ? undefined : parseJobId(id);
    const ctx = await connect(o);
    if (jobId) {
      const v = await status(ctx, { jobId });
      process.stdout.write(`${o.json ? JSON.stringify(v, null, 2) : renderJob(v)}\n`);
    } else {
      const vs = await list(ctx);
      process.stdout.write(`${o.json ? JSON.stringify(vs, null, 2) : renderJobs(vs, ctx.customer)}\n`);
    }
  });
}
