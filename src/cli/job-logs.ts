// job-logs.ts - `gridlink job logs ID [--follow]`: the job's output file on a
// devnet (followed until the job ends); on a real grid, where the output is.
import { Command } from 'commander';

import { followLogs, logs } from '../customer/logs.js';
import { parseJobId } from '../customer/status.js';
import { connect, withConnection, type ConnectionOptions } from './job-connection.js';

export function jobLogsCommand(): Command {
  const cmd = new Command('logs')
    .description("a job's output (stdout and stderr): the file SLURM writes, readable on a devnet; on a real grid it stays on the provider's cluster and this says so")
    .argument('<id>', 'the job id (0x + 64 hex digits)')
    .option('-f, --follow', 'print the output as it grows, until the job ends');
  return withConnection(cmd).action(async (id: string, o: ConnectionOptions & { follow?: boolean }) => {
    const jobId = parseJobId(id);
    const ctx = await connect(o);
    if (o.follow) {
      const ac = new AbortController();
      const onInt = () => ac.abort();
      process.once('SIGINT', onInt);
      try {
        const kind = await followLogs(ctx, { jobId, write: (t) => process.stdout.write(t), signal: ac.signal, note: (l) => process.stderr.write(`${l}\n`) });
        if (kind !== 'file') process.exitCode = 1;
      } finally {
        process.off('SIGINT', onInt);
      }
      return;
    }
    const r = await logs(ctx, { jobId });
    if (r.kind === 'file') process.stdout.write(r.text);
    else {
      process.stderr.write(`${r.message}\n`);
      process.exitCode = 1;
    }
  });
}
