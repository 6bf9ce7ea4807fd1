// job-top-up.ts - `gridlink job top-up ID --minutes N|--credits N`: more
// credits, hence more time, for a job that has not ended.
import { Command, Option } from 'commander';

import { parseJobId } from '../customer/status.js';
import { topUp } from '../customer/top-up.js';
import { credits } from './status.js';
import { connect, parseCredits, parseMinutes, withConnection, type ConnectionOptions } from './job-connection.js';

export function jobTopUpCommand(): Command {
  const cmd = new Command('top-up')
    .description("add credits to a job that has not ended: --minutes at its provider's price, or --credits; a running job's time limit grows once its provider claims the top-up")
    .argument('<id>', 'the job id (0x + 64 hex digits)')
    .addOption(new Option('--minutes <n>', 'minutes to add').argParser(parseMinutes).conflicts('credits'))
    .addOption(new Option('--credits <n>', 'credits to add').argParser(parseCredits))
    .option('--json', 'machine-readable output');
  return withConnection(cmd).action(async (id: string, o: ConnectionOptions & { minutes?: number; credits?: bigint; json?: boolean }) => {
    const jobId = parseJobId(id);
    if (o.minutes === undefined && o.credits === undefined) throw new Error('give --minutes N or --credits N');
    const r = await topUp(await connect(o), { jobId, minutes: o.minutes, credits: o.credits });
    if (o.json) process.stdout.write(`${JSON.stringify({ jobId, addedCredits: credits(r.addedCredits), addedMinutes: r.addedMinutes === null ? null : Number(r.addedMinutes), transactionHash: r.transactionHash })}\n`);
    else process.stdout.write(`job ${jobId}: ${credits(r.addedCredits)} credits added${r.addedMinutes !== null ? ` (${r.addedMinutes} minutes at its provider's price)` : ''}\n`);
  });
}
