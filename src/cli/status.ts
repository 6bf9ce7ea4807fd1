// status.ts - `gridlink status`: the devnet's stack (each component running
// or stopped, with its PID and address, from the state file that `npm run
// devnet` writes) and each grid job the supervisor knows (its state database,
// opened read-only, and the chain): chain status, SLURM job id, node, the
// Linux user and uid it ran as, billed minutes, provider payment and
// customer refund. `--json` for machines.
//
// The supervisor is a process of its own: the one the state file records, or
// any process running `supervisor run --config <the devnet's config>` (one
// started by hand).
//
// Self-contained (the devnet's modules are not in the npm package, dist/devnet
// is left out of it): the state file's shape is ./devnet-state.ts; jobs are
// read through src/supervisor/job-view.ts (as the devnet's demo and `gridlink
// job` read them); the devnet finds its supervisor through supervisorRunArgs
// and runningSupervisors.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { Command } from 'commander';
import type { Address } from 'viem';

import { findByArgs, isAlive, procStartTime } from '../util/proc.js';
import type { DevnetState, ProcRef } from './devnet-state.js';
import { gridJobs, type GridJobView } from '../supervisor/job-view.js';

// The job read model lives in src/supervisor/job-view.ts; re-exported for the commands and the devnet that read it here.
export { chainClient, chainView, credits, gridJobs, readStore, userName, type GridJobView, type StoreView } from '../supervisor/job-view.js';

/** The devnet's state file (harness/devnet/state.ts writes it; same default and variable). */
export const defaultStateFile = (): string => join(process.env.GRIDLINK_DEVNET_DIR ?? '/tmp/gridlink-devnet', 'state.json');

function readState(file: string): DevnetState | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as DevnetState;
  } catch {
    return undefined;
  }
}

const sameProcess = (r: ProcRef): boolean => isAlive(r.pid) && procStartTime(r.pid) === r.start;

/** The `gridlink` arguments that run the supervisor on `configFile`, as the devnet starts it and an operator types it. */
export const supervisorRunArgs = (configFile: string): string[] => ['supervisor', 'run', '--config', configFile];

/** PIDs of live processes running the supervisor on `configFile`, however started (oldest first: npm, tsx, then node itself). */
export const runningSupervisors = (configFile: string): number[] => findByArgs(supervisorRunArgs(configFile)).filter(isAlive);

export interface ComponentView {
  name: string;
  state: 'running' | 'stopped';
  pid: number | null;
  address: string | null;
}

export interface StatusView {
  stateFile: string;
  devnet: { dir: string; phase: string; startedAt: string; error?: string; components: ComponentView[] } | null;
  jobs: GridJobView[];
  chainError?: string;
}

function components(s: DevnetState): ComponentView[] {
  const byName = new Map<string, ProcRef>(s.processes.map((p) => [p.name, p]));
  const daemonUp = sameProcess(s.daemon);
  const proc = (name: string, ref: ProcRef | undefined, address: string | null): ComponentView => {
    const up = ref !== undefined && sameProcess(ref);
    return { name, state: up ? 'running' : 'stopped', pid: ref?.pid ?? null, address };
  };
  const inDaemon = (name: string, address: string | null): ComponentView => ({ name, state: daemonUp ? 'running' : 'stopped', pid: s.daemon.pid, address });
  const out: ComponentView[] = [proc('devnet daemon', s.daemon, s.dir)];
  out.push(proc('anvil', byName.get('anvil'), s.chain?.rpcUrl ?? null));
  out.push(inDaemon('oracle', s.chain ? `MetaScheduler ${s.chain.contracts.metaScheduler}` : null));
  out.push(proc('sbatch-service', byName.get('sbatch-service'), s.sbatch?.address ?? null));
  out.push(proc('slurmctld', byName.get('slurmctld'), s.slurm ? `SLURM_CONF=${s.slurm.conf}` : null));
  for (const n of s.slurm?.nodes ?? []) out.push(proc(`slurmd ${n}`, byName.get(`slurmd ${n}`), null));
  // A devnet with users.resolver "gridlink" runs no directory server.
  if (s.users?.resolver !== 'gridlink') {
    out.push(proc('389ds', byName.get('389ds'), s.ldap?.url ?? null));
    out.push(proc('sssd', byName.get('sssd'), null));
  }
  const sup = byName.get('supervisor');
  const supView = proc('supervisor', sup, s.supervisor ? `ingest ${s.supervisor.ingestUrl}` : null);
  if (supView.state === 'stopped' && s.supervisor) {
    // Not the recorded one: one started by hand on the same configuration counts (the newest: the node process itself).
    const byHand = runningSupervisors(s.supervisor.config).at(-1);
    if (byHand !== undefined) Object.assign(supView, { state: 'running', pid: byHand });
  }
  out.push(supView);
  return out;
}

export async function collectStatus(stateFile: string): Promise<StatusView> {
  const s = readState(stateFile);
  if (!s) return { stateFile, devnet: null, jobs: [] };
  const view: StatusView = {
    stateFile,
    devnet: { dir: s.dir, phase: s.phase, startedAt: s.startedAt, ...(s.error ? { error: s.error } : {}), components: components(s) },
    jobs: [],
  };
  if (s.supervisor) {
    const r = await gridJobs(s.supervisor.db, s.chain ? { rpcUrl: s.chain.rpcUrl, metaScheduler: s.chain.contracts.metaScheduler as Address } : undefined);
    view.jobs = r.jobs;
    if (r.chainError) view.chainError = r.chainError;
  }
  return view;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const short = (h: string) => (h.length > 16 ? `${h.slice(0, 8)}…${h.slice(-4)}` : h);
const dash = (v: unknown) => (v === null || v === undefined ? '-' : String(v));

export function renderStatus(v: StatusView): string {
  if (!v.devnet) return `No devnet state at ${v.stateFile}.\nStart one: npm run devnet`;
  const d = v.devnet;
  const lines = [`gridlink devnet in ${d.dir}: ${d.phase}, started ${d.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}${d.error ? ` (${d.error})` : ''}`, ''];
  lines.push(table([['COMPONENT', 'STATE', 'PID', 'ADDRESS'], ...d.components.map((c) => [c.name, c.state, dash(c.pid), dash(c.address)])]));
  lines.push('');
  if (v.jobs.length === 0) lines.push('No grid job claimed yet.');
  else {
    lines.push(`Grid jobs (${v.jobs.length}):`);
    lines.push(
      table([
        ['JOB', 'CHAIN', 'CLAIM', 'SLURM', 'NODE', 'USER', 'UID', 'MINUTES', 'COST', 'PROVIDER PAID', 'REFUND'],
        ...v.jobs.map((j) => [short(j.gridJobId), dash(j.chainStatus), j.claim ?? '-', dash(j.slurmJobId), dash(j.node), j.user ? short(j.user) : '-', dash(j.uid), dash(j.billedMinutes), dash(j.cost), dash(j.providerPayment), dash(j.customerRefund)]),
      ]),
    );
    for (const j of v.jobs) if (j.lastError || j.claimError) lines.push(`  ${short(j.gridJobId)}: ${j.lastError ?? j.claimError}`);
  }
  if (v.chainError) lines.push('', `(${v.chainError}: chain columns left empty)`);
  const down = d.components.some((c) => c.state === 'stopped');
  lines.push('', down ? 'Some components are stopped: `npm run devnet:down` cleans up, `npm run devnet` starts afresh.' : 'Stop everything: npm run devnet:down');
  return lines.join('\n');
}

export function statusCommand(): Command {
  return new Command('status')
    .description('the devnet stack (each component, PID, address) and every grid job the supervisor knows (chain status, SLURM job, node, user, bill)')
    .option('--json', 'machine-readable output', false)
    .option('--state <file>', 'the devnet state file', defaultStateFile())
    .action(async (o: { json: boolean; state: string }) => {
      const v = await collectStatus(o.state);
      process.stdout.write(`${o.json ? JSON.stringify(v, null, 2) : renderStatus(v)}\n`);
      if (!v.devnet) process.exitCode = 1;
    });
}
