// context.ts - what every customer action receives: the Meta-Scheduler client
// signing as the customer, the sbatch service that stores job scripts and,
// on a devnet, the provider's side (the supervisor's store and config) that
// lets follow, status and logs show the SLURM job, node, user and output.
import { createPublicClient, createWalletClient, http, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { createMetaSchedulerClient, type MetaSchedulerClient } from '../metascheduler/client.js';
import type { SbatchClientTls } from '../sbatch/client.js';

/** The provider's side, readable on a devnet (same machine): the supervisor's SQLite store and its configuration file. */
export interface ProviderView {
  db: string;
  /** The supervisor's JSON config (its slurm.output names the job's output file). */
  config?: string | undefined;
}

export interface CustomerContext {
  /** Signs as the customer (withWalletClient). */
  client: MetaSchedulerClient;
  customer: Address;
  rpcUrl: string;
  /** The sbatch service (`host:port`) the grid's providers fetch scripts from. */
  sbatch?: { endpoint: string; tls?: SbatchClientTls | undefined } | undefined;
  provider?: ProviderView | undefined;
  /** Poll interval of follow and logs --follow (default 250 ms). */
  pollMs?: number | undefined;
}

export interface CreateCustomerContextParameters {
  rpcUrl: string;
  metaScheduler: Address;
  privateKey: Hex;
  sbatch?: CustomerContext['sbatch'];
  provider?: ProviderView | undefined;
  pollMs?: number | undefined;
}

/** Reads the Meta-Scheduler's parts once; the returned context is reused by every action. */
export async function createCustomerContext(p: CreateCustomerContextParameters): Promise<CustomerContext> {
  const transport = http(p.rpcUrl, { retryCount: 1, timeout: 15_000 });
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 200 });
  const account = privateKeyToAccount(p.privateKey);
  const base = await createMetaSchedulerClient({ publicClient: publicClient as never, address: p.metaScheduler });
  const chainId = await publicClient.getChainId();
  const chain = { ...foundry, id: chainId };
  const client = base.withWalletClient(createWalletClient({ account, chain, transport }) as never);
  return { client, customer: account.address, rpcUrl: p.rpcUrl, sbatch: p.sbatch, provider: p.provider, pollMs: p.pollMs };
}
