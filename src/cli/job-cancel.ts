// job-cancel.ts - `gridlink job cancel ID`: before the job runs it ends at
// once with a full refund; while it runs its provider is asked to stop it.
import { Command } from 'commander';

import { cancel } from '../customer/cancel.js';
import { parseJobId } from '../customer/status.js';
import { connect, withConnection, type ConnectionOptions } from './job-connection.js';

export function jobCancelCommand(): Command {
  const cmd = new Command('cancel')
    .description('cancel a job: not yet running, it is CANCELLED at once and refunded in full; running, its provider stops it and bills the minutes it ran')
    .argument('<id>', 'the job id (0x + 64 hex digits)')
    .option('--json', 'machine-readable output');
  return withConnection(cmd).action(async (id: string, o: ConnectionOptions & { json?: boolean }) => {
    const jobId = parseJobId(id);
    const r = await cancel(await connect(o), { jobId });
    if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else process.stdout.write(r.requested ? `cancel of job ${jobId} requested: its provider stops it and reports its end (gridlink job status ${jobId})\n` : `job ${jobId} cancelled before it ran: its credits are refunded in full\n`);
  });
}
