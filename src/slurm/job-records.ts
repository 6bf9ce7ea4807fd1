// job-records.ts - `scontrol -o show job --details` lines into SlurmJob,
// robust to free text (job names, comments, paths) containing spaces and `=`.
//
// The generic reader (src/slurm/scontrol-records.ts parseRecord) starts a field at
// any whitespace followed by `Word=`, so a job named `a b=c` or a comment
// `x JobState=COMPLETED` splits into bogus fields. Here a field starts only
// at ` Key=` for a Key that scontrol 22.05 prints (src/api/job_info.c
// slurm_sprint_job_info; one space between fields in -o mode), and a free
// text value is kept byte for byte. Structured values use their first token,
// so a key added by a newer scontrol, which we would not split at, cannot
// corrupt them.
//
// Limits (scontrol -o has no quoting, nothing can remove them):
//   - A free-text field that itself contains ` <Key>=` for a printed Key is
//     ambiguous. JobId is always the line's first field, so such a record
//     can misreport only ITSELF. The ssh backend refuses such text in what
//     it submits, so its own jobs always parse exactly.
//   - A newline in a foreign job's name or comment splits its record and
//     could forge a line starting `JobId=<another job>`; when a JobId shows
//     up on more than one line the backend re-reads that one job alone
//     (`scontrol -o show job N`), see duplicateJobIds().
import type { SlurmJob } from './backend.js';
import { parseSlurmTime, toSlurmJobState } from './jobs.js';

/** Every key scontrol 22.05 prints for a job, in its order (with --details). */
export const SCONTROL_JOB_KEYS: readonly string[] = [
  'JobId', 'ArrayJobId', 'ArrayTaskId', 'ArrayTaskThrottle', 'HetJobId', 'HetJobOffset', 'JobName', 'HetJobIdSet',
  'UserId', 'GroupId', 'MCS_label', 'Priority', 'Nice', 'Account', 'QOS', 'WCKey', 'JobState', 'Reason', 'Dependency',
  'Requeue', 'Restarts', 'BatchFlag', 'Reboot', 'ExitCode', 'DerivedExitCode', 'RunTime', 'TimeLimit', 'TimeMin',
  'SubmitTime', 'EligibleTime', 'AccrueTime', 'ResizeTime', 'StartTime', 'EndTime', 'Deadline', 'CronJob', 'CrontabSpec',
  'PreemptEligibleTime', 'PreemptTime', 'SuspendTime', 'SecsPreSuspend', 'LastSchedEval', 'Scheduler', 'Partition',
  'AllocNode:Sid', 'ReqNodeList', 'ExcNodeList', 'NodeList', 'SchedNodeList', 'ReqMidplaneList', 'ExcMidplaneList',
  'MidplaneList', 'BatchFeatures', 'BatchHost', 'FedOrigin', 'FedViableSiblings', 'FedActiveSiblings', 'NumNodes',
  'NumCPUs', 'NumTasks', 'CPUs/Task', 'ReqB:S:C:T', 'TRES', 'Socks/Node', 'NtasksPerN:B:S:C', 'CoreSpec', 'ThreadSpec',
  'JOB_GRES', 'Nodes', 'CPU_IDs', 'Mem', 'GRES', 'MinCPUsNode', 'MinMemoryNode', 'MinMemoryCPU', 'MinTmpDiskNode',
  'Features', 'DelayBoot', 'ClusterFeatures', 'Prefer', 'Reservation', 'OverSubscribe', 'Contiguous', 'Licenses',
  'Network', 'Command', 'WorkDir', 'AdminComment', 'SystemComment', 'Comment', 'StdErr', 'StdIn', 'StdOut', 'Switches',
  'Wait-for-Switch', 'BurstBuffer', 'BurstBufferState', 'Power', 'GresEnforceBind', 'KillOInInvalidDependent',
  'SpreadJob', 'CpusPerTres', 'MemPerTres', 'TresBind', 'TresFreq', 'TresPerJob', 'TresPerNode', 'TresPerSocket',
  'TresPerTask', 'MailUser', 'MailType', 'NtasksPerTRES', 'Container', 'SELinuxContext',
];

/** Printed as `Key=%s ` plus the field separator: their value carries one extra trailing space. */
const TRAILING_SPACE_KEYS = new Set(['AdminComment', 'SystemComment', 'Comment']);

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const FIELD_START = new RegExp(`(?<=^| )(${SCONTROL_JOB_KEYS.map(escapeRe).join('|')})=`, 'g');

/** Text that would make a job's scontrol -o record ambiguous: ` <Key>=` for a printed key, or a line break. */
export function ambiguousInRecord(text: string): string | undefined {
  if (/[\n\r]/.test(text)) return 'a line break';
  FIELD_START.lastIndex = 0;
  for (let m = FIELD_START.exec(text); m; m = FIELD_START.exec(text)) {
    if (m.index > 0) return `"${m[1]}=" after a space`;
  }
  return undefined;
}

/**
 * One `scontrol -o` job line, Key -> value. JobId is the line's first field
 * (never taken from later text); for any other key printed twice the last
 * occurrence wins.
 */
export function splitJobLine(line: string): Record<string, string> {
  const rec: Record<string, string> = {};
  const text = line.endsWith(' ') ? line.slice(0, -1) : line; // the record's final separator
  const starts: Array<{ key: string; at: number; valueAt: number }> = [];
  FIELD_START.lastIndex = 0;
  for (let m = FIELD_START.exec(text); m; m = FIELD_START.exec(text)) starts.push({ key: m[1]!, at: m.index, valueAt: m.index + m[0].length });
  starts.forEach((s, i) => {
    const next = starts[i + 1];
    let v = text.slice(s.valueAt, next ? next.at - 1 : text.length);
    if (TRAILING_SPACE_KEYS.has(s.key) && v.endsWith(' ')) v = v.slice(0, -1);
    if (s.key === 'JobId' && (i > 0 || 'JobId' in rec)) return;
    rec[s.key] = v;
  });
  return rec;
}

/** First whitespace-separated token (structured values). */
const tok = (v: string | undefined): string => (v ?? '').trim().split(/\s+/)[0] ?? '';
const unset = (v: string): string => (v === '(null)' || v === 'None' || v === 'N/A' ? '' : v);
const int = (v: string | undefined): number => {
  const m = /^\d+/.exec(tok(v));
  return m ? Number(m[0]) : 0;
};
/** `name(123)` -> 123. */
const idIn = (v: string | undefined): number => {
  const m = /\((\d+)\)\s*$/.exec(v ?? '');
  return m ? Number(m[1]) : -1;
};

/** 64M, 2G, 1024 (MB) -> MB. */
export function memoryMB(v: string): number | null {
  const m = /^(\d+(?:\.\d+)?)([KMGTP]?)$/.exec(v);
  if (!m) return null;
  const f: Record<string, number> = { K: 1 / 1024, '': 1, M: 1, G: 1024, T: 1024 ** 2, P: 1024 ** 3 };
  return Math.round(Number(m[1]) * f[m[2]!]!);
}

/** GPUs in a TRES string: `gres:gpu:2`, `gres/gpu:tesla:2`, `gres/gpu=2`, comma lists (summed per type, the untyped total preferred). */
export function gpusIn(tres: string): number {
  let untyped = 0;
  let typed = 0;
  for (const item of tres.split(',')) {
    const m = /^(?:gres[:/])?gpu(?::([^:=]+))?[:=](\d+)/.exec(item.trim());
    if (!m) continue;
    if (m[1] === undefined) untyped += Number(m[2]);
    else typed += Number(m[2]);
  }
  return untyped || typed;
}

export function toSlurmJob(rec: Record<string, string>): SlurmJob | undefined {
  const state = toSlurmJobState({ ...rec, JobState: tok(rec.JobState), ExitCode: tok(rec.ExitCode), TimeLimit: tok(rec.TimeLimit) });
  if (!state) return undefined;
  const numNodes = int(rec.NumNodes);
  let gpus = gpusIn(tok(rec.TresPerJob));
  if (!gpus && rec.TresPerNode) gpus = gpusIn(tok(rec.TresPerNode)) * Math.max(1, numNodes);
  if (!gpus && rec.TresPerTask) gpus = gpusIn(tok(rec.TresPerTask)) * Math.max(1, int(rec.NumTasks));
  return {
    ...state,
    name: rec.JobName ?? '',
    comment: rec.Comment ?? '',
    userId: idIn(rec.UserId),
    groupId: idIn(rec.GroupId),
    partition: tok(rec.Partition),
    nodes: unset(tok(rec.NodeList)),
    numNodes,
    numTasks: int(rec.NumTasks),
    cpusPerTask: int(rec['CPUs/Task']),
    memPerCpuMB: rec.MinMemoryCPU !== undefined ? memoryMB(tok(rec.MinMemoryCPU)) : null,
    gpus,
    workDir: rec.WorkDir ?? '',
    account: unset(tok(rec.Account)),
    qos: unset(tok(rec.QOS)),
    reservation: unset(tok(rec.Reservation)),
    arrayJobId: int(rec.ArrayJobId),
    dependency: unset(tok(rec.Dependency)),
    beginTime: parseSlurmTime(tok(rec.EligibleTime)),
    exclusive: tok(rec.OverSubscribe) === 'NO',
    requeue: tok(rec.Requeue) === '1',
    stateReason: unset(tok(rec.Reason)),
  };
}

/** Lines of `scontrol -o show job` that start a record ("No jobs in the system" and continuation lines are skipped). */
export function jobLines(text: string): string[] {
  return text.split('\n').filter((l) => /^JobId=\d+ /.test(l));
}

/** JobIds that start more than one line: a forged line is among them (see the header). */
export function duplicateJobIds(lines: readonly string[]): Set<number> {
  const seen = new Set<number>();
  const dup = new Set<number>();
  for (const l of lines) {
    const id = Number(/^JobId=(\d+)/.exec(l)![1]);
    if (seen.has(id)) dup.add(id);
    seen.add(id);
  }
  return dup;
}
