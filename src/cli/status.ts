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
// is left out of it): the state file's shape is ./devnet-state.ts; the devnet's demo
// reads jobs through readStore and chainView below, the devnet finds its
// supervisor through supervisorRunArgs and runningSupervisors.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import Database from 'better-sqlite3';
import { Command } from 'commander';
import { createPublicClient, formatUnits, http, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';

import { findByArgs, isAlive, procStartTime } from '../util/proc.js';
import type { DevnetState, ProcRef } from './devnet-state.js';
import { createMetaSchedulerClient, type MetaSchedulerClient } from '../metascheduler/client.js';
import { JobStatus } from '../metascheduler/status.js';

/** The devnet's state file (src/devnet/state.ts writes it; same default and variable). */
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

export interface GridJobView {
  gridJobId: Hex;
  customer: string;
  claim: string | null;
  claimError: string | null;
  chainStatus: string | null;
  slurmJobId: number | null;
  node: string | null;
  user: string | null;
  uid: number | null;
  /** Unix seconds, from the node's prolog/the controller's completion record. */
  startTime: number | null;
  endTime: number | null;
  billedMinutes: number | null;
  /** Credits (decimal strings, 18 decimals). */
  lockedCredits: string | null;
  cost: string | null;
  providerPayment: string | null;
  customerRefund: string | null;
  lastError: string | null;
}

interface StoreRow {
  grid_job_id: string;
  customer: string;
  state: string;
  slurm_job_id: number | null;
  last_error: string | null;
}

export interface StoreView {
  gridJobId: Hex;
  customer: string;
  claim: string;
  claimError: string | null;
  slurmJobId: number | null;
  node: string | null;
  uid: number | null;
  startTime: number | null;
  endTime: number | null;
  billedMinutes: number | null;
}

/** What the supervisor's store says of each claimed job (latest claim per job), read-only. */
export function readStore(dbFile: string, only?: Hex): StoreView[] {
  if (!existsSync(dbFile)) return [];
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 2000');
    const rows = db
      .prepare(
        `SELECT c.grid_job_id, c.customer, c.state, c.slurm_job_id, c.last_error FROM claims c
         WHERE c.id = (SELECT max(id) FROM claims WHERE grid_job_id = c.grid_job_id) ${only ? 'AND lower(c.grid_job_id) = lower(?)' : ''}
         ORDER BY c.id`,
      )
      .all(...(only ? [only] : [])) as StoreRow[];
    const evs = db.prepare('SELECT kind, event FROM events WHERE job_id = ? ORDER BY id');
    const minutes = db.prepare('SELECT max(minutes) AS m FROM reports WHERE lower(grid_job_id) = lower(?)');
    return rows.map((r) => {
      let node: string | null = null;
      let uid: number | null = null;
      let startTime: number | null = null;
      let endTime: number | null = null;
      if (r.slurm_job_id !== null) {
        for (const e of evs.all(r.slurm_job_id) as { kind: number; event: string }[]) {
          const ev = JSON.parse(e.event) as { userId?: number; node?: string; startTime?: number; endTime?: number };
          if (ev.userId !== undefined) uid = ev.userId;
          if (ev.node) node = ev.node;
          if (ev.startTime) startTime = ev.startTime;
          if (ev.endTime) endTime = ev.endTime;
        }
      }
      const m = (minutes.get(r.grid_job_id) as { m: number | null } | undefined)?.m ?? null;
      return {
        gridJobId: r.grid_job_id as Hex,
        customer: r.customer,
        claim: r.state,
        claimError: r.last_error,
        slurmJobId: r.slurm_job_id,
        node,
        uid,
        startTime,
        endTime,
        billedMinutes: m,
      };
    });
  } finally {
    db.close();
  }
}

const names = new Map<number, string | null>();
/** The user name of `uid` through NSS (SSSD for directory users). */
export function userName(uid: number): string | null {
  if (names.has(uid)) return names.get(uid)!;
  let n: string | null = null;
  try {
    n = execFileSync('getent', ['passwd', String(uid)], { encoding: 'utf8', timeout: 5000 }).split(':')[0] || null;
  } catch {
    n = null;
  }
  if (n !== null) names.set(uid, n);
  return n;
}

export const credits = (wei: bigint): string => formatUnits(wei, 18);

export async function chainClient(rpcUrl: string, metaScheduler: Address): Promise<MetaSchedulerClient> {
  const publicClient = createPublicClient({ chain: foundry, transport: http(rpcUrl, { retryCount: 0, timeout: 5000 }) });
  return createMetaSchedulerClient({ publicClient: publicClient as never, address: metaScheduler });
}

const FINAL = new Set([JobStatus.FINISHED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.OUT_OF_CREDITS, JobStatus.PANICKED]);

/** The chain's side of one job: status, cost, and once it is closed the provider's share and the refund. */
export async function chainView(client: MetaSchedulerClient, id: Hex, cutPercent: bigint) {
  const j = await client.getJob(id);
  const closed = FINAL.has(j.status);
  const cut = (j.cost.finalCost * cutPercent) / 100n;
  return {
    job: j,
    chainStatus: JobStatus[j.status] ?? String(j.status),
    lockedCredits: credits(j.cost.maxCost),
    cost: closed ? credits(j.cost.finalCost) : null,
    providerPayment: closed ? credits(j.cost.finalCost > cut ? j.cost.finalCost - cut : 0n) : null,
    customerRefund: closed ? credits(j.cost.maxCost - j.cost.finalCost) : null,
    lastError: j.lastError || null,
    closed,
  };
}

/** Every job the supervisor's store knows, with the chain's view when the chain answers (chainError otherwise). */
export async function gridJobs(dbFile: string, chain?: { rpcUrl: string; metaScheduler: Address }): Promise<{ jobs: GridJobView[]; chainError?: string }> {
  const store = readStore(dbFile);
  let client: MetaSchedulerClient | undefined;
  let cutPercent = 0n;
  let chainError: string | undefined;
  if (chain && store.length > 0) {
    try {
      client = await chainClient(chain.rpcUrl, chain.metaScheduler);
      cutPercent = (await client.getConstants()).deepsquareCut;
    } catch (err) {
      chainError = `the chain at ${chain.rpcUrl} did not answer: ${(err as Error).message.split('\n')[0]}`;
      client = undefined;
    }
  }
  const jobs: GridJobView[] = [];
  for (const s of store) {
    const c = client ? await chainView(client, s.gridJobId, cutPercent).catch(() => undefined) : undefined;
    jobs.push({
      gridJobId: s.gridJobId,
      customer: s.customer,
      claim: s.claim,
      claimError: s.claimError,
      chainStatus: c?.chainStatus ?? null,
      slurmJobId: s.slurmJobId,
      node: s.node,
      user: s.uid === null ? null : userName(s.uid),
      uid: s.uid,
      startTime: s.startTime,
      endTime: s.endTime,
      billedMinutes: s.billedMinutes,
      lockedCredits: c?.lockedCredits ?? null,
      cost: c?.cost ?? null,
      providerPayment: c?.providerPayment ?? null,
      customerRefund: c?.customerRefund ?? null,
      lastError: c?.lastError ?? null,
    });
  }
  return { jobs, ...(chainError ? { chainError } : {}) };
}

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
  out.push(proc('389ds', byName.get('389ds'), s.ldap?.url ?? null));
  out.push(proc('sssd', byName.get('sssd'), null));
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
