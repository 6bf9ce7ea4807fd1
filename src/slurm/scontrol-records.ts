// scontrol-records.ts - `scontrol show job|node -o` records as Key=Value maps.
/**
 * Parsing of `scontrol show job|node -o` one-line records. There is no JSON
 * output in 22.05 (`--json` needs openapi plugins Debian doesn't ship) and no
 * slurmdbd here, so this text is the only source of job state.
 */

/** Every Key=Value of one record; values keep their inner '=' (e.g. TRES=cpu=1,mem=128M). */
export type ScontrolRecord = Record<string, string>;

export interface JobInfo {
  jobId: number;
  /** e.g. PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT. */
  state: string;
  reason: string;
  /** `exit:signal` as SLURM prints it, e.g. "3:0". */
  exitCode: string;
  raw: ScontrolRecord;
}

// A new field starts where whitespace is followed by `Key=`; keys contain
// letters, digits and `:/_` (AllocNode:Sid, CPUs/Task, ReqB:S:C:T).
const FIELD_START = /\s+(?=[A-Za-z][A-Za-z0-9_:/]*=)/;

export function parseRecord(line: string): ScontrolRecord {
  const rec: ScontrolRecord = {};
  for (const tok of line.trim().split(FIELD_START)) {
    const eq = tok.indexOf('=');
    if (eq <= 0) continue;
    rec[tok.slice(0, eq)] = tok.slice(eq + 1).trim();
  }
  return rec;
}

/** One record per non-empty line. */
export function parseRecords(text: string): ScontrolRecord[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(parseRecord);
}

export function toJobInfo(rec: ScontrolRecord): JobInfo {
  return {
    jobId: Number(rec.JobId),
    state: rec.JobState ?? 'UNKNOWN',
    reason: rec.Reason ?? '',
    exitCode: rec.ExitCode ?? '',
    raw: rec,
  };
}
