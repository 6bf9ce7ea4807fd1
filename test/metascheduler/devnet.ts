// Test fixture: anvil + the project's contracts + one client per actor.
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { deployMetaScheduler } from '../../harness/devnet/deploy.js';
import { createMetaSchedulerClient, type MetaSchedulerClient } from '../../src/metascheduler/client.js';
import type { JobDefinition, ProviderHardware, ProviderPrices } from '../../src/metascheduler/types.js';

export const CREDIT = 10n ** 18n;

export interface Devnet {
  anvil: Anvil;
  /** Deployer: DEFAULT_ADMIN_ROLE everywhere and METASCHEDULER_ROLE (the oracle). */
  admin: MetaSchedulerClient;
  customer: MetaSchedulerClient;
  /** Providers on anvil accounts 2.. (not registered yet). */
  providers: MetaSchedulerClient[];
  clientFor(privateKey: Hex): MetaSchedulerClient;
  stop(): Promise<void>;
}

export async function startDevnet(opts: { providers?: number } = {}): Promise<Devnet> {
  const anvil = await startAnvil();
  try {
    const [adminAcct, customerAcct] = anvil.accounts;
    if (!adminAcct || !customerAcct) throw new Error('anvil gave too few accounts');
    const deployed = await deployMetaScheduler({
      rpcUrl: anvil.rpcUrl,
      adminKey: adminAcct.privateKey,
      oracleAddress: adminAcct.address,
      customers: [{ address: customerAcct.address, amount: 1_000_000n * CREDIT }],
    });
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 20 });
    const base = await createMetaSchedulerClient({ publicClient, address: deployed.metaScheduler });
    const clientFor = (pk: Hex) =>
      base.withWalletClient(createWalletClient({ account: privateKeyToAccount(pk), chain: foundry, transport }));
    const providers = anvil.accounts.slice(2, 2 + (opts.providers ?? 1)).map((a) => clientFor(a.privateKey));
    return {
      anvil,
      admin: clientFor(adminAcct.privateKey),
      customer: clientFor(customerAcct.privateKey),
      providers,
      clientFor,
      stop: () => anvil.stop(),
    };
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

export function definition(p: Partial<JobDefinition> = {}): JobDefinition {
  return {
    gpus: 0n,
    memPerCpu: 1n,
    cpusPerTask: 1n,
    ntasks: 1n,
    batchLocationHash: 'batch-hash',
    storageType: 0,
    uses: [],
    affinity: [],
    ...p,
  };
}

export const smallCluster: ProviderHardware = {
  nodes: 2n,
  gpusPerNode: [1n, 1n],
  cpusPerNode: [8n, 8n],
  memPerNode: [16_000n, 16_000n],
};

/** 4 credits per minute for a 1-cpu, 1-MB-per-cpu, gpu-less job. */
export const fourPerMinute: ProviderPrices = { gpuPricePerMin: 0n, cpuPricePerMin: 4n * CREDIT, memPricePerMin: 0n };
