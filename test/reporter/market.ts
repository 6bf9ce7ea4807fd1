// market.ts - a Meta-Scheduler market on anvil for the reporter's acceptance
// tests and benchmark: contracts deployed, one approved provider, and N jobs
// requested, assigned and claimed by that provider in bulk (automine, many
// transactions in flight, explicit nonces), then anvil switched to one block
// per second. Also: counting the provider's status transactions from blocks.
import {
  createPublicClient,
  decodeFunctionData,
  encodeFunctionData,
  http,
  maxUint256,
  toFunctionSelector,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import type { Anvil } from '../../harness/devnet/anvil.js';
import { creditAbi, metaSchedulerAbi } from '../../src/metascheduler/abi.generated.js';
import type { MetaSchedulerClient } from '../../src/metascheduler/client.js';
import { CREDIT, definition, smallCluster, startDevnet } from '../metascheduler/devnet.js';

/** 10 credits per cpu-minute: the 100-credit minimum buys 10 minutes of a 1-cpu job. */
export const PRICES = { gpuPricePerMin: 0n, cpuPricePerMin: 10n * CREDIT, memPricePerMin: 0n };
export const PER_MIN = 10n * CREDIT;

export interface ClaimedJob {
  jobId: Hex;
  maxMinutes: number;
  claimBlock: bigint;
  lockedCredits: bigint;
}

export interface Market {
  anvil: Anvil;
  publicClient: PublicClient;
  metaScheduler: Address;
  chainId: number;
  provider: { address: Address; privateKey: Hex };
  customer: { address: Address; privateKey: Hex };
  /** Read-only client (getJob, constants). */
  client: MetaSchedulerClient;
  /** Requests, assigns and claims n jobs of `minutes` paid minutes each. */
  claimJobs(n: number, minutes?: number): Promise<ClaimedJob[]>;
  /** anvil mines one block every `seconds` (0: automine again). */
  setBlockTime(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Signs every call locally (no per-transaction RPC), sends them with automine
 * off, then mines blocks until all are in; checks every receipt succeeded.
 * Returns the last block.
 */
async function sendAll(anvil: Anvil, pc: PublicClient, key: Hex, calls: Array<{ to: Address; data: Hex }>, gas = 1_000_000n): Promise<bigint> {
  const account = privateKeyToAccount(key);
  let nonce = await pc.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const end = nonce + calls.length;
  const block = await pc.getBlock();
  const maxFeePerGas = (block.baseFeePerGas ?? 1_000_000_000n) * 4n + 2_000_000_000n;
  const from = block.number + 1n;
  await anvil.request('evm_setAutomine', [false]);
  try {
    for (let i = 0; i < calls.length; i += 200) {
      const raws = await Promise.all(
        calls.slice(i, i + 200).map((c) =>
          account.signTransaction({ ...c, gas, nonce: nonce++, chainId: foundry.id, type: 'eip1559', maxFeePerGas, maxPriorityFeePerGas: 1_000_000_000n }),
        ),
      );
      await Promise.all(raws.map((serializedTransaction) => pc.sendRawTransaction({ serializedTransaction })));
    }
    while ((await pc.getTransactionCount({ address: account.address, blockTag: 'latest' })) < end) await anvil.request('evm_mine');
  } finally {
    await anvil.request('evm_setAutomine', [true]);
  }
  const last = await pc.getBlockNumber();
  for (let b = from; b <= last; b++) {
    const receipts = (await pc.request({ method: 'eth_getBlockReceipts' as never, params: [`0x${b.toString(16)}`] as never })) as Array<{ transactionHash: Hex; status: Hex }>;
    const bad = receipts.find((r) => r.status !== '0x1');
    if (bad) throw new Error(`market setup: transaction ${bad.transactionHash} reverted`);
  }
  return last;
}

export async function startMarket(): Promise<Market> {
  const devnet = await startDevnet({ providers: 1 });
  const anvil = devnet.anvil;
  try {
    const [admin, customer, provider] = anvil.accounts as [Anvil['accounts'][0], Anvil['accounts'][0], Anvil['accounts'][0]];
    const publicClient = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl), pollingInterval: 50 }) as PublicClient;
    const base = devnet.admin;
    await devnet.providers[0]!.register(smallCluster, PRICES);
    await devnet.admin.approveProvider(provider.address);
    await sendAll(anvil, publicClient, customer.privateKey, [
      { to: base.addresses.credit, data: encodeFunctionData({ abi: creditAbi, functionName: 'approve', args: [base.addresses.metaScheduler, maxUint256] }) },
    ]);
    const deployed = { metaScheduler: base.addresses.metaScheduler };
    const ms = deployed.metaScheduler;
    return {
      anvil,
      publicClient,
      metaScheduler: ms,
      chainId: foundry.id,
      provider,
      customer,
      client: base,
      async claimJobs(n, minutes = 10) {
        const locked = PER_MIN * BigInt(minutes);
        const from = (await publicClient.getBlockNumber()) + 1n;
        const def = definition();
        await sendAll(
          anvil,
          publicClient,
          customer.privateKey,
          Array.from({ length: n }, (_, i) => ({
            to: ms,
            data: encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'requestNewJob', args: [def, locked, `0x${(i + 1).toString(16).padStart(64, '0')}`, false] }),
          })),
        );
        const requested = await publicClient.getContractEvents({ address: ms, abi: metaSchedulerAbi, eventName: 'NewJobRequestEvent', fromBlock: from });
        const ids = requested.map((e) => e.args._jobId as Hex);
        await sendAll(
          anvil,
          publicClient,
          admin.privateKey,
          ids.map((id) => ({ to: ms, data: encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'metaSchedule', args: [id, provider.address] }) })),
        );
        const claimFrom = (await publicClient.getBlockNumber()) + 1n;
        await sendAll(
          anvil,
          publicClient,
          provider.privateKey,
          ids.map(() => ({ to: ms, data: encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'claimNextJob', args: [] }) })),
        );
        const claims = await publicClient.getContractEvents({ address: ms, abi: metaSchedulerAbi, eventName: 'ClaimJobEvent', fromBlock: claimFrom });
        return claims.map((e) => ({ jobId: e.args.jobId as Hex, maxMinutes: Number(e.args.maxDurationMinute), claimBlock: e.blockNumber, lockedCredits: locked }));
      },
      async setBlockTime(seconds) {
        if (seconds > 0) {
          await anvil.request('evm_setAutomine', [false]);
          await anvil.request('evm_setIntervalMining', [seconds]);
        } else {
          await anvil.request('evm_setIntervalMining', [0]);
          await anvil.request('evm_setAutomine', [true]);
        }
      },
      stop: () => anvil.stop(),
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

const SET_STATUS = toFunctionSelector('providerSetJobStatus(bytes32,uint8,uint64,string,int64)');

export interface StatusTx {
  jobId: Hex;
  status: number;
  minutes: bigint;
  block: bigint;
  success: boolean;
}

/** Every providerSetJobStatus transaction the provider got mined in [from, to], read from the blocks. */
export async function statusTransactions(pc: PublicClient, provider: Address, metaScheduler: Address, from: bigint, to: bigint): Promise<StatusTx[]> {
  const out: StatusTx[] = [];
  for (let b = from; b <= to; b++) {
    const block = await pc.getBlock({ blockNumber: b, includeTransactions: true });
    const mine = block.transactions.filter((t) => t.from.toLowerCase() === provider.toLowerCase() && t.to?.toLowerCase() === metaScheduler.toLowerCase() && t.input.startsWith(SET_STATUS));
    if (mine.length === 0) continue;
    const receipts = (await pc.request({ method: 'eth_getBlockReceipts' as never, params: [`0x${b.toString(16)}`] as never })) as Array<{ transactionHash: Hex; status: Hex }>;
    const ok = new Map(receipts.map((r) => [r.transactionHash, r.status === '0x1']));
    for (const t of mine) {
      const { args } = decodeFunctionData({ abi: metaSchedulerAbi, data: t.input });
      const [jobId, status, minutes] = args as unknown as [Hex, number, bigint];
      out.push({ jobId, status, minutes, block: b, success: ok.get(t.hash) ?? false });
    }
  }
  return out;
}

