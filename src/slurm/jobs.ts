// jobs.ts - what slurmctld currently holds about jobs, read with
// `scontrol -o show job` (22.05 has no JSON output without openapi plugins).
// slurmctld keeps a finished job for MinJobAge (default 300 s): a job it no
// longer knows is either long finished or lost.
import { parseRecords } from './scontrol-records.js';
import { runCommand } from '../util/run-command.js';
import { SLURM_STATE_NAMES } from './states.js';

export interface SlurmJobState {
  jobId: number;
  /** State name, e.g. RUNNING, COMPLETED, NODE_FAIL. */
  state: string;
  /** Base state number as in job_state (index in SLURM_STATE_NAMES), -1 if unknown. */
  jobState: number;
  exitCode: number;
  signal: number;
  /** Unix seconds, 0 when unknown. */
  startTime: number;
  endTime: number;
  submitTime: number;
  /** Minutes, or null for UNLIMITED / unknown. */
  timeLimitMinutes: number | null;
  restarts: number;
}

/** The reporter's and supervisor's view of slurmctld's jobs. */
export interface SlurmJobSource {
  /** Every job slurmctld holds, by id. Throws when slurmctld does not answer. */
  jobs(): Promise<Map<number, SlurmJobState>>;
}

/** scontrol prints local times as 2026-12-01T15:04:05, or Unknown / None / N/A. */
export function parseSlurmTime(v: string | undefined): number {
  if (!v || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/.test(v)) return 0;
  const t = new Date(v).getTime();
  return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
}

/** TimeLimit as [days-]hours:minutes:seconds or minutes; null for UNLIMITED. */
export function parseTimeLimit(v: string | undefined): number | null {
  if (!v) return null;
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(v);
  if (!m) return /^\d+$/.test(v) ? Number(v) : null;
  const [, d, h, mi, s] = m;
  return Number(d ?? 0) * 1440 + Number(h ?? 0) * 60 + Number(mi) + (Number(s) > 0 ? 1 : 0);
}

/** The state part of one `scontrol -o show job` record (Key -> value); undefined without a valid JobId. */
export function toSlurmJobState(rec: Readonly<Record<string, string>>): SlurmJobState | undefined {
  const jobId = Number(rec.JobId);
  if (!Number.isInteger(jobId) || jobId <= 0) return undefined;
  const state = (rec.JobState ?? 'UNKNOWN').split(/[+ ]/)[0]!;
  const [exit, sig] = (rec.ExitCode ?? '0:0').split(':').map((x) => Number(x) || 0);
  return {
    jobId,
    state,
    jobState: SLURM_STATE_NAMES.indexOf(state),
    exitCode: exit ?? 0,
    signal: sig ?? 0,
    startTime: parseSlurmTime(rec.StartTime),
    endTime: parseSlurmTime(rec.EndTime),
    submitTime: parseSlurmTime(rec.SubmitTime),
    timeLimitMinutes: parseTimeLimit(rec.TimeLimit),
    restarts: Number(rec.Restarts ?? 0) || 0,
  };
}

export function parseScontrolJobs(text: string): Map<number, SlurmJobState> {
  const out = new Map<number, SlurmJobState>();
  for (const rec of parseRecords(text)) {
    const s = toSlurmJobState(rec);
    if (s) out.set(s.jobId, s);
  }
  return out;
}

export class ScontrolJobSource implements SlurmJobSource {
  constructor(private readonly opts: { slurmConf?: string | undefined; scontrol?: string; timeoutMs?: number } = {}) {}

  async jobs(): Promise<Map<number, SlurmJobState>> {
    const env = this.opts.slurmConf ? { ...process.env, SLURM_CONF: this.opts.slurmConf } : process.env;
    const r = await runCommand(this.opts.scontrol ?? 'scontrol', ['-o', 'show', 'job'], { env, timeoutMs: this.opts.timeoutMs ?? 15_000, allowFail: true });
    // With no jobs at all, scontrol says "No jobs in the system" and exits 0.
    if (r.code !== 0) throw new Error(`scontrol -o show job failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)} (is slurmctld up, and SLURM_CONF right?)`);
    return parseScontrolJobs(r.stdout);
  }
}
