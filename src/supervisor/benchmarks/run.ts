// run.ts - runs the benchmarks as SLURM jobs through any SlurmBackend and
// turns their results into labels.
//
// One job at a time (hpcc, then fio), each as the configured unprivileged
// user with a SLURM time limit, watched by polling backend.list(). Every
// job's files go under `<workDir>/gridlink-bench-<runId>/<benchmark>/` (the
// job makes the directory; its stdout/stderr are
// `<workDir>/gridlink-bench-<runId>-<benchmark>.out`) and are read back with
// `readFile` (default: the local filesystem, i.e. workDir is on storage this
// process sees; pass a reader for a remote login node). They are left in
// place for the operator.
//
// A benchmark that fails - submit refused, controller unreachable until the
// deadline, job FAILED/CANCELLED/TIMEOUT/..., still pending or running at
// the deadline (then it is cancelled), output missing or unusable - is
// logged at error level with what to do and gives no label; runBenchmarks
// only throws for invalid options.
import { randomBytes } from 'node:crypto';
import { readFile as fsReadFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Label } from '../../metascheduler/types.js';
import { SlurmBackendError, type SlurmBackend, type SlurmJob, type SlurmNode, type SubmitRequest } from '../../slurm/backend.js';
import { isTerminal } from '../../slurm/states.js';
import { formatZodIssues } from '../../util/zod-issues.js';
import { fioJobScript, fioLabels, parseFioOutput } from './fio.js';
import { hpccJobScript, hpccLabels, hpccSizing, parseHpccOutput } from './hpcc.js';
import { BenchmarkOutputError, tailLines, type BenchmarkName } from './output.js';

const absPath = z
  .string()
  .min(1)
  .refine((p) => p.startsWith('/'), 'must be an absolute path')
  .refine((p) => !/[\n\r\0]/.test(p), 'must not contain line breaks');

export const runBenchmarksOptionsSchema = z.object({
  partition: z.string().min(1),
  /** Nodes HPL/STREAM run across (one job over all of them). */
  nodes: z.number().int().min(1),
  user: z.object({
    name: z.string().min(1),
    uid: z.number().int().min(1, 'benchmarks must not run as root (uid 0): configure an unprivileged benchmark user'),
    gid: z.number().int().min(0),
    home: absPath,
  }),
  /** Writable by the user, on storage this process reads (see readFile). */
  workDir: absPath,
  hpcc: z.object({
    enabled: z.boolean(),
    /** Share of the job's memory HPL's matrix takes. */
    memoryFraction: z.number().gt(0).max(0.9),
    /** Tests: one rank per node, N=1000 (seconds), small memory request. */
    quick: z.boolean().default(false),
    binary: z.string().min(1).default('hpcc'),
    mpirun: z.string().min(1).default('mpirun'),
  }),
  fio: z.object({
    enabled: z.boolean(),
    /** The shared storage to measure: must exist and be writable by the user. */
    directory: absPath.refine((p) => !p.includes('$'), 'must not contain $ (fio expands ${VAR})'),
    sizeMB: z.number().int().min(1),
    /** O_DIRECT (default); false for filesystems without it (tmpfs). */
    direct: z.boolean().default(true),
    binary: z.string().min(1).default('fio'),
  }),
  /**
   * Per benchmark: the job is cancelled when it has not started this long
   * after submission, or has run this long. Fractions allowed; SLURM's own
   * time limit is this rounded up plus one minute (a backstop should this
   * process die).
   */
  timeoutMinutes: z.number().positive(),
  /** Added to the jobs' environment (which is otherwise HOME, USER, LOGNAME, PATH, LANG and thread counts), e.g. SLURM_CONF when slurm.conf is not at the default path (mpirun's srun needs it), OMPI_MCA_* settings. */
  environment: z.record(z.string()).default({}),
  /** How often backend.list() is polled. */
  pollMs: z.number().int().min(50).default(2000),
});

export type RunBenchmarksOptions = z.input<typeof runBenchmarksOptionsSchema> & {
  backend: SlurmBackend;
  logger: Logger;
  /** Reads a job's file; default the local filesystem (utf8). */
  readFile?: (file: string) => Promise<string>;
  /** Stops waiting, cancels the running benchmark job and returns the labels so far. */
  signal?: AbortSignal;
};

type Options = z.output<typeof runBenchmarksOptionsSchema>;

/** Memory asked per CPU by the quick hpcc job and by the fio job. */
const QUICK_MEM_PER_CPU_MB = 256;
const FIO_MEM_PER_CPU_MB = 512;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** A node SLURM would give a job now or soon (not down, drained, failing or not responding). */
const usable = (n: SlurmNode) => !/DOWN|DRAIN|FAIL|INVAL|NOT_RESPONDING|FUTURE|POWER|REBOOT|\*/i.test(n.state);

interface JobSpec {
  benchmark: BenchmarkName;
  script: string;
  ntasks: number;
  cpusPerTask: number;
  memPerCpuMB: number;
  stdout: string;
  /** The result file the parser reads. */
  resultFile: string;
  /** Result file text -> labels; throws BenchmarkOutputError. */
  parse: (text: string) => { labels: Label[]; problems: string[] };
}

/**
 * Runs the enabled benchmarks one after the other and returns the labels of
 * those that succeeded (see BENCHMARK_LABELS). Never throws for a failing
 * benchmark (logged at error level); throws for invalid options.
 */
export async function runBenchmarks(options: RunBenchmarksOptions): Promise<Label[]> {
  const { backend, logger, signal } = options;
  const parsed = runBenchmarksOptionsSchema.safeParse(options);
  if (!parsed.success) throw new Error(`runBenchmarks: invalid options: ${formatZodIssues(parsed.error.issues)}`);
  const o: Options = parsed.data;
  const readFile = options.readFile ?? ((f: string) => fsReadFile(f, 'utf8'));
  const log = logger.child({ component: 'benchmarks' });

  const runId = `${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  const base = path.join(o.workDir, `gridlink-bench-${runId}`);
  const environment: Record<string, string> = {
    HOME: o.user.home,
    USER: o.user.name,
    LOGNAME: o.user.name,
    PATH: '/usr/local/bin:/usr/bin:/bin',
    LANG: 'C',
    // One rank per CPU: no BLAS or OpenMP threads on top.
    OMP_NUM_THREADS: '1',
    OPENBLAS_NUM_THREADS: '1',
    ...o.environment,
  };
  const labels: Label[] = [];
  if (!o.hpcc.enabled && !o.fio.enabled) {
    log.info('no benchmark enabled');
    return labels;
  }

  const submitAndWait = async (spec: JobSpec): Promise<void> => {
    const l = log.child({ benchmark: spec.benchmark });
    const t0 = Date.now();
    const req: SubmitRequest = {
      script: spec.script,
      name: `gridlink-bench-${spec.benchmark}`,
      user: o.user.name,
      uid: o.user.uid,
      gid: o.user.gid,
      workDir: o.workDir,
      stdout: spec.stdout,
      stderr: spec.stdout,
      environment,
      partition: o.partition,
      ntasks: spec.ntasks,
      cpusPerTask: spec.cpusPerTask,
      memPerCpuMB: spec.memPerCpuMB,
      gpus: 0,
      timeLimitMinutes: Math.ceil(o.timeoutMinutes) + 1,
      comment: `gridlink benchmark ${spec.benchmark} ${runId}`,
    };
    let jobId: number;
    try {
      ({ jobId } = await backend.submit(req));
    } catch (e) {
      const why = e instanceof SlurmBackendError ? `${e.kind === 'refused' ? 'SLURM refused the job' : 'SLURM is unreachable'}: ${e.message}` : `submit failed: ${(e as Error).message}`;
      l.error(
        { ntasks: spec.ntasks, cpusPerTask: spec.cpusPerTask, memPerCpuMB: spec.memPerCpuMB, partition: o.partition },
        `benchmark ${spec.benchmark} not run: ${why} (check the partition, the benchmark user and that the job fits the nodes)`,
      );
      return;
    }
    l.info({ jobId, ntasks: spec.ntasks, cpusPerTask: spec.cpusPerTask, memPerCpuMB: spec.memPerCpuMB, stdout: spec.stdout }, `benchmark ${spec.benchmark} submitted as job ${jobId}`);

    const timeoutMs = o.timeoutMinutes * 60_000;
    let seen: SlurmJob | undefined;
    let runningSince: number | undefined;
    let lastListError: string | undefined;
    let ended: SlurmJob | undefined;
    let vanished = false;
    const stdoutTail = async () => tailLines(await readFile(spec.stdout).catch(() => ''), 15) || '(no output)';
    const cancel = async (why: string) => {
      try {
        await backend.cancel(jobId);
        l.error({ jobId }, `benchmark ${spec.benchmark} (job ${jobId}) cancelled: ${why}`);
      } catch (e) {
        l.error({ jobId }, `benchmark ${spec.benchmark} (job ${jobId}) ${why}; cancelling it failed too (${(e as Error).message}): cancel it by hand (scancel ${jobId})`);
      }
    };

    for (;;) {
      if (signal?.aborted) {
        await cancel('stopped (shutdown) before it finished');
        return;
      }
      try {
        const job = (await backend.list()).find((j) => j.jobId === jobId);
        lastListError = undefined;
        if (job) {
          seen = job;
          if (runningSince === undefined && job.state !== 'PENDING') runningSince = job.startTime > 0 ? Math.min(job.startTime * 1000, Date.now()) : Date.now();
          if (isTerminal(job.state)) {
            ended = job;
            break;
          }
        } else if (seen) {
          // Purged by slurmctld (MinJobAge) between two polls: it ended; the output decides.
          vanished = true;
          break;
        } else if (Date.now() - t0 > 60_000) {
          l.error({ jobId }, `benchmark ${spec.benchmark}: job ${jobId} never appeared in SLURM's job list after submission (is the backend talking to the right controller?)`);
          return;
        }
      } catch (e) {
        if (lastListError === undefined) l.warn({ jobId }, `benchmark ${spec.benchmark}: cannot list SLURM jobs (${(e as Error).message}); still waiting for job ${jobId}`);
        lastListError = (e as Error).message;
      }
      const now = Date.now();
      if (runningSince === undefined && now - t0 > timeoutMs) {
        await cancel(
          `not started within ${o.timeoutMinutes} min (${seen ? `${seen.state}, reason ${seen.stateReason || 'none'}` : `SLURM unreachable: ${lastListError ?? '?'}`}): are ${o.nodes} node(s) of partition ${o.partition} free? Raise timeoutMinutes or run when the cluster is idle`,
        );
        return;
      }
      if (runningSince !== undefined && now - runningSince > timeoutMs) {
        await cancel(
          `still running after ${o.timeoutMinutes} min: raise timeoutMinutes or make it smaller (${spec.benchmark === 'hpcc' ? 'hpcc.memoryFraction' : 'fio.sizeMB'}); output so far:\n${await stdoutTail()}`,
        );
        return;
      }
      await sleep(o.pollMs, signal);
    }

    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    if (ended && (ended.state !== 'COMPLETED' || ended.exitCode !== 0)) {
      const hint =
        ended.state === 'TIMEOUT'
          ? 'it hit its SLURM time limit'
          : ended.state === 'OUT_OF_MEMORY'
            ? 'out of memory: lower hpcc.memoryFraction'
            : ended.state === 'CANCELLED'
              ? 'cancelled by someone else'
              : `exit code ${ended.exitCode}${ended.signal ? `, signal ${ended.signal}` : ''}`;
      l.error(
        { jobId, state: ended.state, exitCode: ended.exitCode, seconds: Number(secs), stdout: spec.stdout },
        `benchmark ${spec.benchmark} (job ${jobId}) ended ${ended.state} (${hint}); no labels. Its output:\n${await stdoutTail()}`,
      );
      return;
    }
    let text: string;
    try {
      text = await readFile(spec.resultFile);
    } catch (e) {
      l.error(
        { jobId, resultFile: spec.resultFile },
        `benchmark ${spec.benchmark} (job ${jobId}) ${vanished ? 'left the job list' : 'completed'} but its result file cannot be read (${(e as Error).message}): is workDir on storage both the compute nodes and the supervisor see? Its output:\n${await stdoutTail()}`,
      );
      return;
    }
    try {
      const r = spec.parse(text);
      for (const p of r.problems) l.warn({ jobId }, `benchmark ${spec.benchmark}: ${p}`);
      labels.push(...r.labels);
      l.info({ jobId, seconds: Number(secs), labels: Object.fromEntries(r.labels.map((x) => [x.key, x.value])) }, `benchmark ${spec.benchmark} done in ${secs} s`);
    } catch (e) {
      if (!(e instanceof BenchmarkOutputError)) throw e;
      l.error({ jobId, resultFile: spec.resultFile }, `benchmark ${spec.benchmark} (job ${jobId}) gave no usable result: ${e.message}`);
    }
  };

  // The partition's hardware sizes the hpcc job.
  let nodes: SlurmNode[] | undefined;
  if (o.hpcc.enabled) {
    try {
      nodes = (await backend.partition(o.partition)).nodes.filter(usable);
    } catch (e) {
      log.error(`benchmark hpcc not run: cannot read partition ${o.partition} (${(e as Error).message}); check the partition name and that slurmctld answers`);
    }
  }
  if (o.hpcc.enabled && nodes && !signal?.aborted) {
    if (nodes.length < o.nodes) {
      log.error(`benchmark hpcc not run: partition ${o.partition} has ${nodes.length} usable node(s), ${o.nodes} asked: lower benchmarks nodes or bring nodes back (sinfo -R)`);
    } else {
      // Homogeneous nodes assumed: size for the smallest, so the job fits on any `nodes` of them.
      const chosen = [...nodes].sort((a, b) => a.cpus - b.cpus || a.realMemoryMB - b.realMemoryMB).slice(0, o.nodes);
      const cpus = Math.min(...chosen.map((n) => n.cpus));
      const memPerCpu = Math.floor(Math.min(...chosen.map((n) => n.realMemoryMB)) / cpus);
      const quick = o.hpcc.quick;
      // Quick: one task per node holding all its CPUs; full: one task (rank) per CPU.
      const ntasks = quick ? o.nodes : o.nodes * cpus;
      const cpusPerTask = quick ? cpus : 1;
      const memPerCpuMB = quick ? Math.min(QUICK_MEM_PER_CPU_MB, memPerCpu) : memPerCpu;
      const sizing = hpccSizing({ ranks: ntasks, memoryMB: memPerCpuMB * ntasks * cpusPerTask, memoryFraction: o.hpcc.memoryFraction, quick });
      const runDir = path.join(base, 'hpcc');
      log.info({ ...sizing, ranks: ntasks, nodes: o.nodes, quick }, `hpcc sized: N=${sizing.n} on ${ntasks} rank(s), grid ${sizing.p}x${sizing.q}`);
      await submitAndWait({
        benchmark: 'hpcc',
        script: hpccJobScript({ runDir, sizing, binary: o.hpcc.binary, mpirun: o.hpcc.mpirun }),
        ntasks,
        cpusPerTask,
        memPerCpuMB,
        stdout: `${base}-hpcc.out`,
        resultFile: path.join(runDir, 'hpccoutf.txt'),
        parse: (text) => {
          const r = parseHpccOutput(text);
          return { labels: hpccLabels(r, ntasks / o.nodes), problems: r.problems };
        },
      });
    }
  }
  if (o.fio.enabled && !signal?.aborted) {
    const runDir = path.join(base, 'fio');
    await submitAndWait({
      benchmark: 'fio',
      script: fioJobScript({
        runDir,
        directory: o.fio.directory,
        dataDir: path.join(o.fio.directory, `gridlink-fio-${runId}`),
        sizeMB: o.fio.sizeMB,
        direct: o.fio.direct,
        // Three fio jobs share the time limit, with room for laying out the file.
        runtimeSeconds: Math.max(1, Math.floor((o.timeoutMinutes * 60) / 4)),
        binary: o.fio.binary,
      }),
      ntasks: 1,
      cpusPerTask: 1,
      memPerCpuMB: FIO_MEM_PER_CPU_MB,
      stdout: `${base}-fio.out`,
      resultFile: path.join(runDir, 'fio.json'),
      parse: (text) => {
        const r = parseFioOutput(text);
        return { labels: fioLabels(r), problems: r.problems };
      },
    });
  }
  return labels;
}
