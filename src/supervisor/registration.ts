// registration.ts - the provider on chain: the partition's hardware read
// through the SLURM backend, the configured prices and labels (plus the
// benchmark labels), registered only when something differs from what the
// ProviderManager holds, then waited on until an admin approves it.
import type { Address } from 'viem';
import type { Logger } from 'pino';

import { encodeRegister } from '../metascheduler/actions/register.js';
import { getRegistration, type Registration } from '../metascheduler/actions/getRegistration.js';
import type { MetaSchedulerContext } from '../metascheduler/context.js';
import type { MetaSchedulerError } from '../metascheduler/errors.js';
import type { Label, ProviderHardware, ProviderPrices } from '../metascheduler/types.js';
import type { SlurmBackend, SlurmPartition } from '../slurm/backend.js';
import type { TxPipeline } from '../txpipeline/index.js';
import type { SupervisorMetrics } from './metrics.js';
import { REGISTER_TX_KIND } from './tx-outcomes.js';

export interface Offer {
  hardware: ProviderHardware;
  prices: ProviderPrices;
  labels: Label[];
}

export function hardwareOf(p: SlurmPartition): ProviderHardware {
  if (p.nodes.length === 0) throw new Error(`partition ${p.name} has no nodes: nothing to sell`);
  return {
    nodes: BigInt(p.nodes.length),
    gpusPerNode: p.nodes.map((n) => BigInt(n.gpus)),
    cpusPerNode: p.nodes.map((n) => BigInt(n.cpus)),
    memPerNode: p.nodes.map((n) => BigInt(n.realMemoryMB)),
  };
}

const sortedLabels = (l: readonly Label[]) => [...l].map((x) => `${x.key}\u0000${x.value}`).sort();

/** What differs between the offer and the registration on chain ([] when nothing). */
export function offerDiff(offer: Offer, reg: Registration): string[] {
  if (!reg.provider) return ['not registered'];
  const p = reg.provider;
  const out: string[] = [];
  const h = p.providerHardware;
  const eq = (a: readonly bigint[], b: readonly bigint[]) => a.length === b.length && a.every((x, i) => x === b[i]);
  if (h.nodes !== offer.hardware.nodes) out.push(`nodes ${h.nodes} -> ${offer.hardware.nodes}`);
  if (!eq(h.cpusPerNode, offer.hardware.cpusPerNode)) out.push(`cpusPerNode ${h.cpusPerNode.join(',')} -> ${offer.hardware.cpusPerNode.join(',')}`);
  if (!eq(h.memPerNode, offer.hardware.memPerNode)) out.push(`memPerNode ${h.memPerNode.join(',')} -> ${offer.hardware.memPerNode.join(',')}`);
  if (!eq(h.gpusPerNode, offer.hardware.gpusPerNode)) out.push(`gpusPerNode ${h.gpusPerNode.join(',')} -> ${offer.hardware.gpusPerNode.join(',')}`);
  const pr = p.providerPrices;
  if (pr.cpuPricePerMin !== offer.prices.cpuPricePerMin || pr.memPricePerMin !== offer.prices.memPricePerMin || pr.gpuPricePerMin !== offer.prices.gpuPricePerMin) out.push('prices');
  const a = sortedLabels(p.labels);
  const b = sortedLabels(offer.labels);
  if (a.length !== b.length || a.some((x, i) => x !== b[i])) out.push('labels');
  return out;
}

export interface RegisterOptions {
  ctx: MetaSchedulerContext;
  provider: Address;
  pipeline: Pick<TxPipeline<MetaSchedulerError>, 'submit' | 'get'>;
  backend: SlurmBackend;
  partition: string;
  prices: ProviderPrices;
  /** Configured labels and benchmark labels; called when a registration is needed. */
  labels: () => Promise<Label[]>;
  approvalPollMs: number;
  log: Logger;
  metrics: SupervisorMetrics;
  stopped: () => boolean;
  /** Waits between approval checks (the caller cuts it short on stop). */
  sleep?: (ms: number) => Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function setState(m: SupervisorMetrics, reg: Registration): void {
  for (const s of ['none', 'waiting', 'joined', 'banned']) m.registered.set({ state: s }, 0);
  m.registered.set({ state: reg.banned ? 'banned' : reg.state }, 1);
}

/**
 * Registers when needed and resolves once the provider is joined (approved).
 * Resolves undefined if stopped first. A joined provider whose offer changed
 * is told what differs: the ProviderManager keeps a joined provider's prices
 * (its running jobs are billed at them), so it keeps serving with the old
 * registration until an admin removes it.
 */
export async function ensureRegistered(o: RegisterOptions): Promise<Registration | undefined> {
  const hardware = hardwareOf(await o.backend.partition(o.partition));
  let reg = await getRegistration(o.ctx, { provider: o.provider });
  setState(o.metrics, reg);
  let labels: Label[] | undefined;
  const offer = async (): Promise<Offer> => ({ hardware, prices: o.prices, labels: (labels ??= await o.labels()) });
  const diff = reg.state === 'none' ? ['not registered'] : offerDiff(await offer(), reg);
  let sent: number | undefined;
  if (diff.length > 0) {
    const call = encodeRegister(o.ctx.addresses, { hardware, prices: o.prices, labels: (await offer()).labels });
    const [out] = await o.pipeline.submit([{ kind: REGISTER_TX_KIND, ref: String(Date.now()), ...call }]);
    if (out?.ok) {
      sent = out.txId;
      o.log.info({ differs: diff, tx: out.hash, nodes: hardware.nodes.toString(), cpusPerNode: hardware.cpusPerNode.map(String), gpusPerNode: hardware.gpusPerNode.map(String) }, 'supervisor: registration sent');
    } else if (out && 'revert' in out) {
      if (reg.state === 'joined') {
        o.log.warn(
          { differs: diff, err: out.revert.message },
          'supervisor: the cluster differs from its registration, but the ProviderManager does not let a joined provider register again (its running jobs are billed at the registered prices): serving with the registration on chain; to change it, ask the grid admin to remove the provider, then restart the supervisor to register again',
        );
      } else throw new Error(`supervisor: register() reverted: ${out.revert.message}`);
    } else if (out) throw out.retry;
  }
  let lastLog = 0;
  for (;;) {
    if (reg.state === 'joined') {
      if (reg.banned) o.log.error('supervisor: this provider is BANNED by the grid admin: no new jobs will be assigned; cancellations and reports continue');
      setState(o.metrics, reg);
      return reg;
    }
    if (o.stopped()) return undefined;
    // Our register transaction failed after it was signed (reverted when mined, or its nonce taken): what the
    // admin would approve is not what was sent (or nothing); the caller registers again with backoff (its
    // simulation then says why, e.g. Banned) instead of waiting for ever.
    const tx = sent !== undefined ? o.pipeline.get(sent) : undefined;
    if (tx && (tx.state === 'reverted' || tx.state === 'lost')) {
      throw new Error(
        `supervisor: the register transaction ${tx.hash} ${tx.state === 'reverted' ? 'reverted on chain' : 'lost its nonce to another transaction'}; the registration on chain (${reg.state}) is not the one sent: registering again`,
      );
    }
    if (Date.now() - lastLog > 60_000) {
      o.log.info({ state: reg.state, provider: o.provider }, 'supervisor: waiting for the grid admin to approve this provider (ProviderManager.approve); checking again periodically');
      lastLog = Date.now();
    }
    await (o.sleep ?? sleep)(o.approvalPollMs);
    reg = await getRegistration(o.ctx, { provider: o.provider });
    setState(o.metrics, reg);
  }
}
