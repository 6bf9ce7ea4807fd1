// client.ts - the Meta-Scheduler client: a context (clients, addresses) with
// every action bound to it; createMetaSchedulerClient reads the addresses.
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from './context.js';
import { approveProvider } from './actions/approveProvider.js';
import { cancelJob } from './actions/cancelJob.js';
import { claimNextCancellingJob } from './actions/claimNextCancellingJob.js';
import { claimNextJob } from './actions/claimNextJob.js';
import { claimNextTopUpJob } from './actions/claimNextTopUpJob.js';
import { getAddresses } from './actions/getAddresses.js';
import { getApprovedProviders } from './actions/getApprovedProviders.js';
import { getConstants } from './actions/getConstants.js';
import { getCreditBalance } from './actions/getCreditBalance.js';
import { getJob } from './actions/getJob.js';
import { getNewJobRequests } from './actions/getNewJobRequests.js';
import { getProvider } from './actions/getProvider.js';
import { hasCancellingJob } from './actions/hasCancellingJob.js';
import { hasNextClaimableJob } from './actions/hasNextClaimableJob.js';
import { hasTopUpJob } from './actions/hasTopUpJob.js';
import { isValidForScheduling } from './actions/isValidForScheduling.js';
import { metaSchedule } from './actions/metaSchedule.js';
import { panicJob } from './actions/panicJob.js';
import { providerSetJobStatus, type ProviderSetJobStatusParameters } from './actions/providerSetJobStatus.js';
import { refuseJob } from './actions/refuseJob.js';
import { register, type RegisterParameters } from './actions/register.js';
import { requestNewJob, type RequestNewJobParameters } from './actions/requestNewJob.js';
import { timeoutJob } from './actions/timeoutJob.js';
import { topUpJob } from './actions/topUpJob.js';
import type { JobStatus } from './status.js';
import type { Label, ProviderHardware, ProviderPrices } from './types.js';

type Wallet = WalletClient<Transport, Chain | undefined, Account>;

/**
 * The context plus every action bound to it. Each method is a thin call into
 * the standalone action of the same name, which can also be used directly
 * as `action(ctx, params)` with a MetaSchedulerContext, as viem's actions
 * are (tree-shakable, easy to mock); the bound methods keep positional
 * arguments for brevity.
 */
export function bindActions(ctx: MetaSchedulerContext) {
  return {
    ...ctx,
    /** Same contracts, another signer (e.g. the provider, a customer and the oracle in one test). */
    withWalletClient: (walletClient: Wallet) => bindActions({ ...ctx, walletClient }),

    // provider
    register: (hardware: ProviderHardware, prices: ProviderPrices, labels: readonly Label[] = []) =>
      register(ctx, { hardware, prices, labels } satisfies RegisterParameters),
    claimNextJob: () => claimNextJob(ctx),
    claimNextCancellingJob: () => claimNextCancellingJob(ctx),
    claimNextTopUpJob: () => claimNextTopUpJob(ctx),
    providerSetJobStatus: (
      jobId: Hex,
      status: JobStatus,
      durationMinutes: bigint,
      lastError = '',
      exitCode = 0n,
    ) => providerSetJobStatus(ctx, { jobId, status, durationMinutes, lastError, exitCode } satisfies ProviderSetJobStatusParameters),
    refuseJob: (jobId: Hex) => refuseJob(ctx, { jobId }),
    hasNextClaimableJob: (provider?: Address) => hasNextClaimableJob(ctx, provider ? { provider } : {}),
    hasCancellingJob: (provider?: Address) => hasCancellingJob(ctx, provider ? { provider } : {}),
    hasTopUpJob: (provider?: Address) => hasTopUpJob(ctx, provider ? { provider } : {}),
    getProvider: (provider?: Address) => getProvider(ctx, provider ? { provider } : {}),
    getJob: (jobId: Hex, opts?: { blockNumber?: bigint }) => getJob(ctx, { ...opts, jobId }),
    getConstants: () => getConstants(ctx),
    getCreditBalance: (account?: Address) => getCreditBalance(ctx, account ? { account } : {}),

    // customer
    requestNewJob: (
      definition: RequestNewJobParameters['definition'],
      lockedCredits: bigint,
      jobName: string,
      delegateSpendingAuthority = false,
    ) => requestNewJob(ctx, { definition, lockedCredits, jobName, delegateSpendingAuthority }),
    cancelJob: (jobId: Hex) => cancelJob(ctx, { jobId }),
    topUpJob: (jobId: Hex, amount: bigint) => topUpJob(ctx, { jobId, amount }),

    // oracle / admin
    approveProvider: (provider: Address) => approveProvider(ctx, { provider }),
    isValidForScheduling: (provider: Address) => isValidForScheduling(ctx, { provider }),
    metaSchedule: (jobId: Hex, provider: Address) => metaSchedule(ctx, { jobId, provider }),
    timeoutJob: (jobId: Hex) => timeoutJob(ctx, { jobId }),
    panicJob: (jobId: Hex, lastError: string) => panicJob(ctx, { jobId, lastError }),
    getNewJobRequests: (range: { fromBlock: bigint; toBlock: bigint }) => getNewJobRequests(ctx, range),
    getApprovedProviders: (range: { fromBlock: bigint; toBlock: bigint }) => getApprovedProviders(ctx, range),
  };
}

export type MetaSchedulerClient = ReturnType<typeof bindActions>;

export interface CreateMetaSchedulerClientParameters {
  publicClient: PublicClient<Transport, Chain | undefined>;
  walletClient?: Wallet | undefined;
  /** The MetaScheduler contract; its parts are read from it. */
  address: Address;
  /** Skip the reads when the part addresses are already known. */
  addresses?: MetaSchedulerAddresses | undefined;
}

export async function createMetaSchedulerClient(p: CreateMetaSchedulerClientParameters): Promise<MetaSchedulerClient> {
  const addresses = p.addresses ?? (await getAddresses(p.publicClient, { metaScheduler: p.address }));
  return bindActions({ publicClient: p.publicClient, walletClient: p.walletClient, addresses });
}
