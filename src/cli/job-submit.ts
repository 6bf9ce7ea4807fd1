// job-submit.ts - `gridlink job submit SCRIPT`: checks the script and the
// credits, uploads it, locks the credits and requests the job, prints its id;
// with --follow (the default on a terminal) prints its life until it ends,
// then its output when this machine can read it (a devnet).
import { readFileSync } from 'node:fs';

import { Command, Option } from 'commander';

import { follow, timeline } from '../customer/follow.js';
import { parseCount, parseMemSize } from '../customer/resources.js';
import { checkScript } from '../customer/script.js';
import { submit } from '../customer/submit.js';
import { credits } from './status.js';
import { connect, parseCredits, parseMinutes, withConnection, type ConnectionOptions } from './job-connection.js';
import { jobView } from '../customer/view.js';

interface SubmitOptions extends ConnectionOptions {
  tasks?: string;
  cpusPerTask?: string;
  memPerCpu?: string;
  gpus?: string;
  minutes?: number;
  credits?: bigint;
  name?: string;
  follow?: boolean;
  json?: boolean;
  timeout?: number;
}

/** Exit code of a followed job that ended otherwise than FINISHED. */
export const JOB_NOT_FINISHED_EXIT = 2;

export function jobSubmitCommand(): Command {
  const cmd = new Command('submit')
    .description('upload a batch script, lock credits for it and request it on the grid; prints the job id (with --follow: its life, its bill and its output)')
    .argument('<script>', 'the batch script (starts with #!, Unix line breaks)')
    .option('--tasks <n>', 'tasks (SLURM --ntasks)', '1')
    .option('--cpus-per-task <n>', 'CPUs per task', '1')
    .option('--mem-per-cpu <size>', 'memory per CPU: MB, or with a unit (512M, 2G)', '256M')
    .option('--gpus <n>', 'GPUs for the whole job', '0')
    .addOption(new Option('--minutes <n>', 'pay for this many minutes (at the dearest approved provider that fits; at least the grid\'s minimum)').argParser(parseMinutes).conflicts('credits'))
    .addOption(new Option('--credits <n>', 'lock this many credits (default: the grid\'s minimum per job)').argParser(parseCredits))
    .option('--name <name>', 'a name stored with the job on chain (at most 32 bytes)', 'gridlink-job')
    .option('--follow', 'print the job\'s life until it ends, then its output (default on a terminal)')
    .option('--no-follow', 'print the job id and return at once')
    .option('--timeout <seconds>', 'with --follow: stop following after this long (the job keeps running)', (v) => Number(v))
    .option('--json', 'print JSON: the job id and locked credits; with --follow the job at its end (progress goes to stderr)')
    .addHelpText('after', `
Exit status: 0 when the job was requested (with --follow: when it FINISHED), ${JOB_NOT_FINISHED_EXIT} when a followed job ended otherwise (FAILED, CANCELLED, OUT_OF_CREDITS, PANICKED) or is still running at --timeout, 1 when gridlink could not do what was asked (the message says why and what to do). Nothing is uploaded or locked when the script, the resources or the credits are refused.

Examples:
  gridlink job submit hello.sh                        on the devnet, followed on a terminal
  gridlink job submit train.sh --tasks 4 --mem-per-cpu 2G --minutes 30 --no-follow`);
  return withConnection(cmd).action(async (file: string, o: SubmitOptions) => {
    let script: string;
    try {
      script = readFileSync(file, 'utf8');
    } catch (e) {
      throw new Error(`cannot read the script ${file}: ${(e as Error).message}`);
    }
    checkScript(script, file); // before any connection: a refused script costs nothing
    const resources = {
      tasks: parseCount(o.tasks ?? '1', '--tasks'),
      cpusPerTask: parseCount(o.cpusPerTask ?? '1', '--cpus-per-task', 1, 65_535),
      memPerCpuMB: parseMemSize(o.memPerCpu ?? '256M'),
      gpus: parseCount(o.gpus ?? '0', '--gpus', 0, 65_535),
    };
    const following = o.follow ?? process.stdout.isTTY === true;
    const line = (l: string) => (o.json ? process.stderr : process.stdout).write(`${l}\n`);
    const ctx = await connect(o);
    const tl = timeline(following ? line : (l) => process.stderr.write(`${l}\n`));
    const r = await submit(ctx, {
      script,
      scriptName: file,
      resources,
      minutes: o.minutes,
      credits: o.credits,
      name: o.name,
      onStep: (step, detail) => {
        if (step === 'uploaded') tl.say(`uploaded ${file} to the sbatch service ${ctx.sbatch!.endpoint}`);
        if (step === 'requested') tl.say(`job ${detail} requested on chain by ${ctx.customer}`);
      },
    });
    const q = r.quote;
    const bought = q.minutes.atLeast === q.minutes.atMost ? `${q.minutes.atLeast}` : `${q.minutes.atLeast}-${q.minutes.atMost}`;
    if (!following) {
      if (o.json) process.stdout.write(`${JSON.stringify({ jobId: r.jobId, lockedCredits: credits(q.lockedCredits), minutes: bought, batchLocationHash: r.batchLocationHash, transactionHash: r.transactionHash })}\n`);
      else process.stdout.write(`${r.jobId}\n`);
      return;
    }
    tl.say(`${credits(q.lockedCredits)} credits locked (${q.providers.length ? `${bought} minutes at the fitting providers' prices` : 'the providers could not be listed: minutes unknown'})`);
    const ac = new AbortController();
    const onInt = () => ac.abort();
    process.once('SIGINT', onInt);
    try {
      const f = await follow(ctx, { jobId: r.jobId, timeline: tl, timeoutMs: o.timeout ? o.timeout * 1000 : undefined, signal: ac.signal, outputLine: line });
      if (!f.ended) line(`job ${r.jobId} keeps running: gridlink job status ${r.jobId}, gridlink job logs ${r.jobId} --follow`);
      if (o.json) process.stdout.write(`${JSON.stringify({ jobId: r.jobId, lockedCredits: credits(q.lockedCredits), job: await jobView(ctx, r.jobId) }, null, 2)}\n`);
      if (!f.ok) process.exitCode = ac.signal.aborted ? 130 : JOB_NOT_FINISHED_EXIT;
    } finally {
      process.off('SIGINT', onInt);
    }
  });
}
