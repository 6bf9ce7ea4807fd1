// job-render.ts - a customer's job (or list of jobs) as text for a terminal;
// `--json` prints the JobView itself.
import type { JobView } from '../customer/view.js';
import { describeResources } from '../customer/resources.js';

const d = (v: unknown) => (v === null || v === undefined ? '-' : String(v));
const when = (iso: string | null) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '-');

export function renderJob(v: JobView): string {
  const lines: [string, string][] = [
    ['job', `${v.jobId}${v.name ? ` (${v.name})` : ''}`],
    ['status', `${v.status}${v.exitCode !== null && v.status !== 'FINISHED' ? `, exit code ${v.exitCode}` : ''}${v.cancelRequested && !v.ended ? ', cancel requested' : ''}`],
    ['provider', d(v.provider)],
    ['resources', describeResources({ tasks: v.tasks, cpusPerTask: v.cpusPerTask, memPerCpuMB: v.memPerCpuMB, gpus: v.gpus })],
    ['credits', v.ended ? `locked ${v.lockedCredits}, cost ${v.cost}, provider paid ${v.providerPayment}, refunded ${v.customerRefund}` : `locked ${v.lockedCredits}${v.pendingTopUp !== '0' ? ` (${v.pendingTopUp} topped up, not yet claimed by the provider)` : ''}`],
    ['times', `submitted ${when(v.submittedAt)}, started ${when(v.startedAt)}, ended ${when(v.endedAt)}`],
  ];
  if (v.slurmJobId !== null) lines.push(['slurm', `job ${v.slurmJobId} on node ${d(v.node)} as ${d(v.user)} (uid ${d(v.uid)})${v.billedMinutes !== null ? `, billed ${v.billedMinutes} min` : ''}`]);
  if (v.outputFile) lines.push(['output', `${v.outputFile} (gridlink job logs ${v.jobId})`]);
  if (v.lastError) lines.push(['error', v.lastError]);
  return lines.map(([k, s]) => `${k.padEnd(10)} ${s}`).join('\n');
}

export function renderJobs(vs: JobView[], customer: string): string {
  if (vs.length === 0) return `No job for account ${customer} yet: gridlink job submit SCRIPT`;
  const rows = [['JOB', 'NAME', 'STATUS', 'LOCKED', 'COST', 'REFUND', 'SLURM', 'SUBMITTED'], ...vs.map((v) => [v.jobId, v.name, v.status + (v.exitCode !== null && v.status !== 'FINISHED' ? ` (exit ${v.exitCode})` : ''), v.lockedCredits, d(v.cost), d(v.customerRefund), d(v.slurmJobId), when(v.submittedAt)])];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [`Jobs of ${customer} (${vs.length}):`, ...rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  '))].join('\n');
}
