// ssh.ts - the `ssh` SlurmBackend: for operators who keep the classic layout,
// a login node where root runs sbatch / scancel / scontrol. One ssh2
// connection (src/slurm/ssh-connection.ts), commands run by a pool of
// long-lived shells on it (src/slurm/ssh-shell.ts: root's login shell runs
// `exec /bin/sh` once per worker, so it must understand that line; each
// command then runs in a subshell of that sh).
//
// How a job is submitted (every argument single-quoted for that sh):
//
//   1. c=$(command -v 'sbatch') || exit 127;
//      exec env -i PATH=... SLURM_CONF='...' "$c" --test-only --wrap=true <shape>
//   2. c=$(command -v 'sbatch') || exit 127;
//      exec 4<&0; printf '%s\000' 'K=V' ... | { exec 3<&0 0<&4 4<&-;
//      exec env -i PATH=... SLURM_CONF='...' "$c" --parsable --job-name=...
//        <shape> --output --error [--comment=...] --ignore-pbs --export=ALL
//        --export-file=3; }
//
// where <shape> is --uid=U --gid=G --partition --ntasks --cpus-per-task
// --mem-per-cpu [--gpus=N] --time=MIN --chdir --no-requeue, and the script
// is on stdin of 2. The --test-only pass (1) exists because slurmctld
// (EnforcePartLimits=NO, the default) accepts a job that no node can ever run
// and leaves it pending for good; the will-run test refuses it with SLURM's
// "Requested node configuration is not available" (a few ms). Jobs of the
// same shape share one pass for a minute (src/slurm/ssh-will-run.ts): a
// burst of claims pays one extra sbatch process per shape, not per job.
// The environment:
//   - sbatch itself runs under `env -i` with only PATH and SLURM_CONF: no
//     SBATCH_* / SLURM_* input variable of root's session changes the job,
//     and the customer's variables are never in the environment of a root
//     process (LD_PRELOAD=... would otherwise run code as root).
//   - The job's environment is req.environment, NUL-separated on fd 3
//     (`--export-file`: values may hold newlines, quotes, anything but NUL).
//     sbatch then clears its own environment, so the job gets exactly those
//     variables plus the SLURM_* ones SLURM sets (SLURM_SUBMIT_DIR, ...).
//     sbatch drops DISPLAY, ENVIRONMENT and HOSTNAME from such a file.
//   - The quoted command is at most MAX_COMMAND_BYTES (what `sh -c` could
//     take on Linux, 128 KiB, less a margin): an environment that does not
//     fit is refused, whichever way the command reaches the shell.
// The script's own directives are disabled (src/slurm/sbatch-input.ts):
// `#SBATCH`/`#SLURM` lines of its leading comment block become `##SBATCH`,
// and --ignore-pbs stops #PBS/#BSUB translation, so only the options above
// shape the job.
//
// Errors: sbatch's "Batch job submission failed: <why>" is kind 'refused'
// with SLURM's message, unless <why> says the controller could not be reached
// ('unavailable'), as does any ssh failure. A command that times out may
// still have taken effect on the login node (a submit then left a job the
// caller does not know: look it up by name before submitting again).
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { z } from 'zod';
import { formatZodIssues } from '../util/zod-issues.js';
import { SlurmBackendError, submitRequestProblem, type SlurmBackend, type SlurmJob, type SlurmNode, type SlurmPartition, type SubmitRequest } from './backend.js';
import { ambiguousInRecord, duplicateJobIds, gpusIn, jobLines, splitJobLine, toSlurmJob } from './job-records.js';
import type { SlurmJobState } from './jobs.js';
import { parseRecords } from './scontrol-records.js';
import { neutraliseDirectives, shq } from './sbatch-input.js';
import { SshConnection, fingerprintOf, type ExecResult } from './ssh-connection.js';
import { hostKeyVerifier } from './ssh-host-key.js';
import { WillRunChecks } from './ssh-will-run.js';

export const sshBackendOptionsSchema = z
  .object({
    /** The login node. */
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(22),
    /** Must be allowed to sbatch --uid: root. */
    username: z.string().min(1).default('root'),
    /** OpenSSH or PEM private key, without passphrase. */
    privateKeyPath: z.string().min(1),
    /**
     * The login node's public host key: `ssh-ed25519 AAAA...`, known_hosts
     * lines (several allowed, one per line), or `SHA256:...` as `ssh-keygen
     * -lf` prints it.
     */
    hostKey: z.string().min(1).optional(),
    /** Accept any host key (man-in-the-middle possible): logs a warning at every start. */
    insecureSkipHostKeyCheck: z.boolean().default(false),
    /** slurm.conf on the login node, exported as SLURM_CONF for the commands; default: theirs. */
    slurmConf: z.string().min(1).optional(),
    sbatchPath: z.string().min(1).default('sbatch'),
    scancelPath: z.string().min(1).default('scancel'),
    scontrolPath: z.string().min(1).default('scontrol'),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** Per command (sbatch waits up to SLURM's MessageTimeout for a down controller). */
    commandTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * Commands running at once, each on a long-lived shell of its own (one ssh
     * session each); default sshd's default MaxSessions. Above the login
     * node's MaxSessions the first refused session caps it at what sshd granted.
     */
    maxChannels: z.number().int().min(1).max(64).default(10),
    reconnectMinMs: z.number().int().positive().default(500),
    reconnectMaxMs: z.number().int().positive().default(30_000),
    keepaliveIntervalMs: z.number().int().min(0).default(15_000),
  })
  .strict()
  .refine((o) => o.hostKey !== undefined || o.insecureSkipHostKeyCheck, {
    message: 'hostKey is required (the login node public host key or its SHA256 fingerprint); insecureSkipHostKeyCheck: true skips the check',
    path: ['hostKey'],
  });
export type SshBackendOptions = z.input<typeof sshBackendOptionsSchema> & { logger?: Logger };

/** Linux MAX_ARG_STRLEN (one `sh -c` argument), less room for safety: the bound on one quoted command. */
const MAX_COMMAND_BYTES = 120_000;
/** sbatch's limits for one --export-file entry (env.c): longer ones are dropped silently. */
const MAX_ENV_NAME = 255;
const MAX_ENV_VALUE = 256 * 1024 - 1;

const UNREACHABLE_RE =
  /Unable to contact slurm controller|Socket timed out|connect failure|Connection refused|Communication connection failure|Zero Bytes were transmitted|Transport endpoint|standby mode|temporarily unable|Network is unreachable|No route to host|Connection timed out|Could not establish a configuration source|Unexpected message received/i;
const MISSING_TOOL = 'gridlink-missing-command';
/** How long a passed will-run test answers for jobs of the same shape (src/slurm/ssh-will-run.ts). */
const WILL_RUN_TTL_MS = 60_000;

export function createSshBackend(input: SshBackendOptions): SlurmBackend {
  const { logger: given, ...rest } = input;
  const parsed = sshBackendOptionsSchema.safeParse(rest);
  if (!parsed.success) throw new Error(`ssh SLURM backend options: ${formatZodIssues(parsed.error.issues)}`);
  const o = parsed.data;
  const logger = (given ?? pino({ name: 'slurm-ssh', level: process.env.LOG_LEVEL ?? 'info' })).child({ slurmBackend: 'ssh', loginNode: `${o.host}:${o.port}` });
  let privateKey: Buffer;
  try {
    privateKey = readFileSync(o.privateKeyPath);
  } catch (e) {
    throw new Error(`ssh SLURM backend: cannot read privateKeyPath ${o.privateKeyPath}: ${(e as Error).message}`);
  }
  let verify: (key: Buffer) => boolean;
  let expected: string;
  if (o.insecureSkipHostKeyCheck) {
    logger.warn(
      `ssh SLURM backend: insecureSkipHostKeyCheck is set: the login node's host key is NOT verified, anyone who can intercept ${o.host}:${o.port} can impersonate it and see every job script and environment. Set hostKey (ssh-keyscan -t ed25519 ${o.host}, checked out of band).`,
    );
    verify = (key) => {
      logger.warn(`ssh SLURM backend: accepting unverified host key ${fingerprintOf(key)} of ${o.host}:${o.port} (insecureSkipHostKeyCheck)`);
      return true;
    };
    expected = 'any (insecureSkipHostKeyCheck)';
  } else {
    ({ verify, expected } = hostKeyVerifier(o.hostKey!));
  }
  const conn = new SshConnection({
    host: o.host,
    port: o.port,
    username: o.username,
    privateKey,
    verifyHostKey: verify,
    expectedHostKey: expected,
    connectTimeoutMs: o.connectTimeoutMs,
    commandTimeoutMs: o.commandTimeoutMs,
    maxChannels: o.maxChannels,
    reconnectMinMs: o.reconnectMinMs,
    reconnectMaxMs: Math.max(o.reconnectMinMs, o.reconnectMaxMs),
    keepaliveIntervalMs: o.keepaliveIntervalMs,
    logger,
  });
  return new SshBackend(o, conn);
}

type Options = z.output<typeof sshBackendOptionsSchema>;

class SshBackend implements SlurmBackend {
  readonly kind = 'ssh' as const;

  constructor(
    private readonly opts: Options,
    private readonly conn: SshConnection,
  ) {}

  private readonly willRun = new WillRunChecks(WILL_RUN_TTL_MS);

  /** `env -i PATH=... [SLURM_CONF=...] "$c" ARGS...`: the resolved tool with nothing of root's session. */
  private envExec(args: string[]): string {
    const envArgs = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...(this.opts.slurmConf ? [`SLURM_CONF=${this.opts.slurmConf}`] : [])];
    return `env -i ${envArgs.map((a) => shq(a)).join(' ')} "$c" ${args.map((a) => shq(a)).join(' ')}`;
  }

  /** `c=$(command -v TOOL) || exit 127; <body using "$c">`, TOOL's environment reduced to PATH and SLURM_CONF. */
  private command(tool: string, args: string[], opts: { wrap?: (execLine: string) => string } = {}): string {
    const execLine = `exec ${this.envExec(args)}`;
    const missing = `{ echo ${shq(`${MISSING_TOOL}: ${tool} not found or not executable on the login node (PATH=`)}"$PATH)" >&2; exit 127; }`;
    return `c=$(command -v ${shq(tool)}) || ${missing}; ${opts.wrap ? opts.wrap(execLine) : execLine}`;
  }

  private async run(tool: string, args: string[], stdin?: string, wrap?: (execLine: string) => string): Promise<ExecResult> {
    const r = await this.conn.exec(this.command(tool, args, { wrap }), stdin);
    if (r.code === 127 && r.stderr.includes(MISSING_TOOL)) {
      throw new SlurmBackendError('unavailable', `${r.stderr.replace(`${MISSING_TOOL}: `, '').trim()}: set the ${toolOption(tool)} option to its full path`);
    }
    if (r.code === null) throw new SlurmBackendError('unavailable', `${tool} on the login node died by signal ${r.signal ?? '?'}: ${brief(r.stderr)}`);
    return r;
  }

  private failure(what: string, r: ExecResult, fallback: 'refused' | 'unavailable'): SlurmBackendError {
    return commandFailure(what, r, fallback);
  }

  async submit(req: SubmitRequest): Promise<{ jobId: number }> {
    checkRequest(req);
    const script = neutraliseDirectives(req.script);
    const stdout = req.stdout ?? `${req.workDir.replace(/\/+$/, '')}/slurm-%j.out`;
    const shape = [
      `--uid=${req.uid}`,
      `--gid=${req.gid}`,
      `--partition=${req.partition}`,
      `--ntasks=${req.ntasks}`,
      `--cpus-per-task=${req.cpusPerTask}`,
      `--mem-per-cpu=${req.memPerCpuMB}M`,
      ...(req.gpus > 0 ? [`--gpus=${req.gpus}`] : []),
      `--time=${req.timeLimitMinutes}`,
      `--chdir=${req.workDir}`,
      '--no-requeue',
    ];
    const args = [
      '--parsable',
      `--job-name=${req.name}`,
      ...shape,
      `--output=${stdout}`,
      `--error=${req.stderr ?? stdout}`,
      ...(req.comment ? [`--comment=${req.comment}`] : []),
      '--ignore-pbs',
      '--export=ALL',
      '--export-file=3',
    ];
    const env = Object.entries(req.environment).map(([k, v]) => shq(`${k}=${v}`, `environment variable ${k}`));
    // The real submit: fd 4 keeps the script (stdin) while the environment is piped to fd 3.
    const wrap = (execLine: string) => `exec 4<&0; printf '%s\\000' ${env.join(' ')} | { exec 3<&0 0<&4 4<&-; ${execLine}; }`;
    const cmd = this.command(this.opts.sbatchPath, args, { wrap });
    if (Buffer.byteLength(cmd) > MAX_COMMAND_BYTES) {
      throw new SlurmBackendError('refused', `the job's environment and options take ${Buffer.byteLength(cmd)} bytes once quoted; the ssh backend passes at most ${MAX_COMMAND_BYTES}`);
    }
    // First `sbatch --test-only`: slurmctld (EnforcePartLimits=NO, the default)
    // accepts a job no node can ever run and leaves it pending for good; the
    // will-run test refuses it ("Requested node configuration is not
    // available"). Jobs of one shape share it (src/slurm/ssh-will-run.ts).
    await this.willRun.check(shape.join('\0'), async () => {
      const t = await this.run(this.opts.sbatchPath, ['--test-only', '--wrap=true', ...shape]);
      if (t.code !== 0) throw submitFailure(t);
    });
    const r = await this.run(this.opts.sbatchPath, args, script, wrap);
    if (r.code === 0) {
      const m = /^(\d+)(?:;\S*)?\s*$/m.exec(r.stdout);
      if (m) return { jobId: Number(m[1]) };
      throw new SlurmBackendError('unavailable', `sbatch succeeded but printed no job id: ${brief(r.stdout)} ${brief(r.stderr)}`);
    }
    throw submitFailure(r);
  }

  async cancel(jobId: number): Promise<void> {
    checkJobId(jobId);
    const r = await this.run(this.opts.scancelPath, [String(jobId)]);
    if (r.code === 0) return;
    // Unknown, or already finished: not an error (the caller wants it gone).
    if (/Invalid job id|already completing or completed|Job has already finished/i.test(r.stderr)) return;
    throw this.failure(`scancel ${jobId}`, r, 'refused');
  }

  async setTimeLimit(jobId: number, minutes: number): Promise<void> {
    checkJobId(jobId);
    if (!Number.isInteger(minutes) || minutes <= 0) throw new SlurmBackendError('refused', `time limit must be a positive whole number of minutes, got ${minutes}`);
    const r = await this.run(this.opts.scontrolPath, ['update', `JobId=${jobId}`, `TimeLimit=${minutes}`]);
    if (r.code === 0) return;
    if (/Invalid job id/i.test(r.stderr)) throw new SlurmBackendError('not_found', `no job ${jobId} in slurmctld (unknown or purged)`);
    throw this.failure(`scontrol update JobId=${jobId} TimeLimit=${minutes}`, r, 'refused');
  }

  async list(): Promise<SlurmJob[]> {
    const r = await this.run(this.opts.scontrolPath, ['-o', 'show', 'job', '--details']);
    if (r.code !== 0) throw this.failure('scontrol -o show job', r, 'unavailable');
    const lines = jobLines(r.stdout);
    const dup = duplicateJobIds(lines);
    const byId = new Map<number, SlurmJob>();
    for (const l of lines) {
      const j = toSlurmJob(splitJobLine(l));
      if (j && !dup.has(j.jobId)) byId.set(j.jobId, j);
    }
    // A JobId on several lines: one was forged by a newline in another job's text; ask for that job alone.
    for (const id of dup) {
      const one = await this.run(this.opts.scontrolPath, ['-o', 'show', 'job', String(id), '--details']);
      const first = one.code === 0 ? jobLines(one.stdout)[0] : undefined;
      const j = first ? toSlurmJob(splitJobLine(first)) : undefined;
      if (j && j.jobId === id) byId.set(id, j);
    }
    return [...byId.values()];
  }

  async jobs(): Promise<Map<number, SlurmJobState>> {
    return new Map((await this.list()).map((j) => [j.jobId, j]));
  }

  async partition(name: string): Promise<SlurmPartition> {
    if (!/^[^\s\0]+$/.test(name)) throw new SlurmBackendError('not_found', `no partition ${JSON.stringify(name)}`);
    const p = await this.run(this.opts.scontrolPath, ['-o', 'show', 'partition', name]);
    if (p.code !== 0) {
      if (/not found/i.test(p.stderr + p.stdout)) throw new SlurmBackendError('not_found', `no partition ${name} in slurmctld`);
      throw this.failure(`scontrol show partition ${name}`, p, 'unavailable');
    }
    const rec = parseRecords(p.stdout).find((x) => x.PartitionName === name);
    if (!rec) throw new SlurmBackendError('not_found', `no partition ${name} in slurmctld`);
    const expr = rec.Nodes ?? '';
    if (expr === '' || expr === '(null)') return { name, state: rec.State ?? '', nodes: [] };
    const h = await this.run(this.opts.scontrolPath, ['show', 'hostnames', expr]);
    if (h.code !== 0) throw this.failure(`scontrol show hostnames ${expr}`, h, 'unavailable');
    const names = h.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
    const n = await this.run(this.opts.scontrolPath, ['-o', 'show', 'node', expr]);
    if (n.code !== 0) throw this.failure(`scontrol show node ${expr}`, n, 'unavailable');
    const nodes = new Map(parseRecords(n.stdout).map((x) => [x.NodeName ?? '', x]));
    return {
      name,
      state: rec.State ?? '',
      nodes: names.map((nodeName): SlurmNode => {
        const x = nodes.get(nodeName);
        if (!x) throw new SlurmBackendError('unavailable', `partition ${name}: scontrol did not show node ${nodeName}`);
        return { name: nodeName, cpus: Number(x.CPUTot) || 0, realMemoryMB: Number(x.RealMemory) || 0, gpus: nodeGpus(x.Gres ?? ''), state: x.State ?? '' };
      }),
    };
  }

  async close(): Promise<void> {
    await this.conn.close();
  }
}

/** `gpu:2`, `gpu:tesla:2(S:0-1)`, `gpu:a:1,gpu:b:2` -> countable GPUs. */
export function nodeGpus(gres: string): number {
  let n = 0;
  for (const item of gres.split(',')) {
    const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(item.trim());
    if (m) n += Number(m[1]);
  }
  return n || gpusIn(gres);
}

function checkJobId(jobId: number): void {
  if (!Number.isInteger(jobId) || jobId <= 0) throw new SlurmBackendError('not_found', `not a job id: ${jobId}`);
}

const CONTROL = /[\u0000-\u001f\u007f]/;

/** What the ssh path cannot carry faithfully is refused before anything runs. */
function checkRequest(req: SubmitRequest): void {
  const refuse = (m: string) => {
    throw new SlurmBackendError('refused', m);
  };
  const problem = submitRequestProblem(req);
  if (problem) refuse(problem);
  const texts: Array<[string, string | undefined]> = [
    ['name', req.name],
    ['comment', req.comment],
    ['workDir', req.workDir],
    ['stdout', req.stdout],
    ['stderr', req.stderr],
  ];
  for (const [what, v] of texts) {
    if (v === undefined) continue;
    if (CONTROL.test(v)) refuse(`the job's ${what} contains control characters (line breaks, tabs, NUL...), which the ssh backend cannot read back from scontrol: ${JSON.stringify(v.slice(0, 80))}`);
    const amb = ambiguousInRecord(v);
    if (amb) refuse(`the job's ${what} contains ${amb}, which would make scontrol's one-line output ambiguous: ${JSON.stringify(v.slice(0, 80))}`);
  }
  for (const [k, v] of Object.entries(req.environment)) {
    if (k.length > MAX_ENV_NAME) refuse(`environment variable name ${JSON.stringify(k.slice(0, 80))} is too long`);
    if (Buffer.byteLength(v) > MAX_ENV_VALUE) refuse(`environment variable ${k} is longer than SLURM's limit (${MAX_ENV_VALUE} bytes)`);
  }
}

/** Failure of a SLURM command: unavailable when the controller was not reached, else `fallback`. */
function commandFailure(what: string, r: ExecResult, fallback: 'refused' | 'unavailable'): SlurmBackendError {
  const msg = brief(r.stderr || r.stdout) || `exit status ${r.code}`;
  if (UNREACHABLE_RE.test(msg)) return new SlurmBackendError('unavailable', `${what}: slurmctld not reachable from the login node: ${msg}`);
  return new SlurmBackendError(fallback, `${what}: ${msg}`);
}

/** Why `sbatch` (the will-run test or the submit) failed: SLURM's refusal, an unreachable controller, or the command's own output. */
function submitFailure(r: ExecResult): SlurmBackendError {
  const failed = /(?:Batch job submission failed|allocation failure): (.*)/.exec(r.stderr);
  if (failed) {
    const why = failed[1]!.trim();
    if (UNREACHABLE_RE.test(why)) return new SlurmBackendError('unavailable', `sbatch: slurmctld not reachable from the login node: ${why}`);
    return new SlurmBackendError('refused', `SLURM refused the job: ${why}`);
  }
  return commandFailure('sbatch', r, 'refused');
}

function toolOption(tool: string): string {
  return /scancel/.test(tool) ? 'scancelPath' : /scontrol/.test(tool) ? 'scontrolPath' : 'sbatchPath';
}

/** The meaningful part of a command's output for an error message. */
function brief(s: string): string {
  return s
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ')
    .slice(0, 500);
}
