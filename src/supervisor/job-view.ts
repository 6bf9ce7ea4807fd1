// job-view.ts - the grid jobs a supervisor knows, as read models: its state
// database opened read-only (claims, job map, reports: readStore) joined with
// the chain (chainView: status, billing, payment and refund). `gridlink
// status`, `gridlink job` (src/customer) and the devnet's demo read jobs
// through here.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import Database from 'better-sqlite3';
import { createPublicClient, formatUnits, http, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';

import { createMetaSchedulerClient, type MetaSchedulerClient } from '../metascheduler/client.js';
import { JobStatus } from '../metascheduler/status.js';

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
  /** users.resolver "gridlink": the name the supervisor handed `uid` out to (its table; resolvable where NSS asks the module). */
  gridlinkUser: string | null;
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
    let gridlinkName: ((uid: number) => string | null) | undefined;
    try {
      const byUid = db.prepare<[number], { name: string }>('SELECT name FROM gridlink_users WHERE uid = ?');
      gridlinkName = (uid) => byUid.get(uid)?.name ?? null;
    } catch {
      gridlinkName = undefined; // a state database older than the table
    }
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
        gridlinkUser: uid === null ? null : (gridlinkName?.(uid) ?? null),
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
      user: s.uid === null ? null : (s.gridlinkUser ?? userName(s.uid)),
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
