// sbatch-backend.ts - a minimal, TEST-ONLY SlurmBackend on the SLURM CLIs
// (sbatch --uid/--gid, scontrol, scancel), for the benchmark tests while the
// real backends (src/slurm/local.ts, src/slurm/ssh.ts) are not there. It is
// not a production backend: the job environment is the request's plus
// SLURM_CONF (sbatch --export=ALL from a clean environment), #SBATCH lines in
// the script are only overridden where the command line sets the same option,
// and errors are classified by exit status and message only.
import { parseRecords, type ScontrolRecord } from '../../src/cluster/scontrol.js';
import { runCommand, type RunResult } from '../../src/cluster/run.js';
import { SlurmBackendError, type SlurmBackend, type SlurmJob, type SlurmPartition, type SubmitRequest } from '../../src/slurm/backend.js';
import { parseScontrolJobs, type SlurmJobState } from '../../src/slurm/jobs.js';

const UNAVAILABLE = /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted/i;

export function createSbatchBackend(opts: { slurmConf: string }): SlurmBackend {
  const baseEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', SLURM_CONF: opts.slurmConf };

  async function run(cmd: string, args: string[], input?: string, env: Record<string, string> = baseEnv): Promise<RunResult> {
    let r: RunResult;
    try {
      r = await runCommand(cmd, args, { env, input, timeoutMs: 30_000, allowFail: true });
    } catch (e) {
      throw new SlurmBackendError('unavailable', (e as Error).message);
    }
    if (r.code === 0) return r;
    const text = (r.stderr.trim() || r.stdout.trim()).slice(0, 500);
    if (UNAVAILABLE.test(text) || r.signal) throw new SlurmBackendError('unavailable', `${cmd}: ${text}`);
    if (/Invalid job id|not found|Invalid partition name specified/i.test(text) && cmd !== 'sbatch') throw new SlurmBackendError('not_found', `${cmd}: ${text}`);
    throw new SlurmBackendError('refused', `${cmd}: ${text}`);
  }

  function toJob(rec: ScontrolRecord, st: SlurmJobState): SlurmJob {
    const memPerCpu = /^(\d+)M$/.exec(rec.MinMemoryCPU ?? '');
    return {
      ...st,
      name: rec.JobName ?? '',
      userId: Number(/\((\d+)\)/.exec(rec.UserId ?? '')?.[1] ?? -1),
      groupId: Number(/\((\d+)\)/.exec(rec.GroupId ?? '')?.[1] ?? -1),
      partition: rec.Partition ?? '',
      nodes: rec.NodeList && rec.NodeList !== '(null)' ? rec.NodeList : '',
      numNodes: Number(rec.NumNodes?.split('-')[0] ?? 0) || 0,
      numTasks: Number(rec.NumTasks ?? 0) || 0,
      cpusPerTask: Number(rec['CPUs/Task'] ?? 1) || 1,
      memPerCpuMB: memPerCpu ? Number(memPerCpu[1]) : null,
      gpus: 0,
      workDir: rec.WorkDir ?? '',
      account: rec.Account === '(null)' ? '' : (rec.Account ?? ''),
      qos: rec.QOS === '(null)' ? '' : (rec.QOS ?? ''),
      reservation: rec.Reservation === '(null)' ? '' : (rec.Reservation ?? ''),
      arrayJobId: Number(rec.ArrayJobId ?? 0) || 0,
      dependency: rec.Dependency === '(null)' ? '' : (rec.Dependency ?? ''),
      beginTime: 0,
      exclusive: rec.OverSubscribe === 'NO',
      requeue: rec.Requeue === '1',
      stateReason: rec.Reason ?? '',
      comment: rec.Comment ?? '',
    };
  }

  return {
    kind: 'local',
    async jobs() {
      const r = await run('scontrol', ['-o', 'show', 'job']);
      return parseScontrolJobs(r.stdout);
    },
    async list() {
      const r = await run('scontrol', ['-o', 'show', 'job']);
      const states = parseScontrolJobs(r.stdout);
      const out: SlurmJob[] = [];
      for (const rec of parseRecords(r.stdout)) {
        const st = states.get(Number(rec.JobId));
        if (st) out.push(toJob(rec, st));
      }
      return out;
    },
    async partition(name: string): Promise<SlurmPartition> {
      const p = parseRecords((await run('scontrol', ['-o', 'show', 'partition', name])).stdout)[0];
      if (!p) throw new SlurmBackendError('not_found', `no partition ${name}`);
      const names = (await run('scontrol', ['show', 'hostnames', p.Nodes ?? ''])).stdout.split('\n').filter(Boolean);
      const nodes = [];
      for (const n of names) {
        const rec = parseRecords((await run('scontrol', ['-o', 'show', 'node', n])).stdout)[0] ?? {};
        nodes.push({ name: n, cpus: Number(rec.CPUTot ?? 0), realMemoryMB: Number(rec.RealMemory ?? 0), gpus: 0, state: rec.State ?? '' });
      }
      return { name, state: p.State ?? '', nodes };
    },
    async submit(req: SubmitRequest) {
      const args = [
        '--parsable',
        `--job-name=${req.name}`,
        `--partition=${req.partition}`,
        `--ntasks=${req.ntasks}`,
        `--cpus-per-task=${req.cpusPerTask}`,
        `--mem-per-cpu=${req.memPerCpuMB}`,
        `--time=${req.timeLimitMinutes}`,
        `--chdir=${req.workDir}`,
        `--output=${req.stdout ?? `${req.workDir}/slurm-%j.out`}`,
        `--error=${req.stderr ?? req.stdout ?? `${req.workDir}/slurm-%j.out`}`,
        `--uid=${req.uid}`,
        `--gid=${req.gid}`,
        '--export=ALL',
        ...(req.comment ? [`--comment=${req.comment}`] : []),
      ];
      const r = await run('sbatch', args, req.script, { ...req.environment, SLURM_CONF: opts.slurmConf });
      const jobId = Number(r.stdout.trim().split(';')[0]);
      if (!Number.isInteger(jobId) || jobId <= 0) throw new SlurmBackendError('refused', `sbatch printed no job id: ${r.stdout.trim()}`);
      return { jobId };
    },
    async cancel(jobId: number) {
      await runCommand('scancel', [String(jobId)], { env: baseEnv, allowFail: true, timeoutMs: 30_000 });
    },
    async setTimeLimit(jobId: number, minutes: number) {
      await run('scontrol', ['update', `JobId=${jobId}`, `TimeLimit=${minutes}`]);
    },
    async close() {},
  };
}
