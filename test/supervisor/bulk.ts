// bulk.ts - many jobs at once on a grid with interval mining: transactions
// signed locally with explicit nonces and sent raw (no receipt wait per
// transaction), then waited for as a whole. Used where the devnet oracle's
// one-at-a-time metaSchedule would be the bottleneck (the 1,000-job test and
// the supervisor benchmark).
import { encodeFunctionData, stringToHex, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { metaSchedulerAbi } from '../../src/metascheduler/abi.generated.js';
import type { JobDefinition } from '../../src/metascheduler/types.js';
import type { Grid } from './grid.js';

/** Signs and sends every call from `key`; resolves with the block that holds the last one. */
export async function sendSigned(pc: PublicClient, key: Hex, calls: Array<{ to: Address; data: Hex }>, gas = 1_000_000n): Promise<bigint> {
  const account = privateKeyToAccount(key);
  let nonce = await pc.getTransactionCount({ address: account.address, blockTag: 'pending' });
  const end = nonce + calls.length;
  const block = await pc.getBlock();
  const maxFeePerGas = (block.baseFeePerGas ?? 1_000_000_000n) * 4n + 2_000_000_000n;
  let last: Hex | undefined;
  for (let i = 0; i < calls.length; i += 200) {
    const raws = await Promise.all(
      calls.slice(i, i + 200).map((c) => account.signTransaction({ ...c, gas, nonce: nonce++, chainId: foundry.id, type: 'eip1559', maxFeePerGas, maxPriorityFeePerGas: 1_000_000_000n })),
    );
    const hashes = await Promise.all(raws.map((serializedTransaction) => pc.sendRawTransaction({ serializedTransaction })));
    last = hashes[hashes.length - 1];
  }
  if (!last || nonce !== end) throw new Error('sendSigned: nothing sent');
  // The receipt of the last nonce, not the account's nonce: under load anvil answered the nonce of a
  // block whose logs getLogs did not return yet (a CI run found 87 of 100 request events).
  const r = await pc.waitForTransactionReceipt({ hash: last, pollingInterval: 100, timeout: 120_000 });
  return r.blockNumber;
}

/** The customer requests n jobs running the script already uploaded under `hash`; resolves with their ids. */
export async function requestJobs(grid: Grid, n: number, p: { hash: string; credits: bigint; customer?: number; definition?: Partial<JobDefinition> }): Promise<Hex[]> {
  const c = grid.customers[p.customer ?? 0]!;
  const ms = c.client.addresses.metaScheduler;
  const from = (await grid.publicClient.getBlockNumber()) + 1n;
  const def: JobDefinition = { gpus: 0n, memPerCpu: 64n, cpusPerTask: 1n, ntasks: 1n, storageType: 0, uses: [], affinity: [], ...p.definition, batchLocationHash: p.hash };
  const to = await sendSigned(
    grid.publicClient,
    c.account.privateKey,
    Array.from({ length: n }, (_, i) => ({ to: ms, data: encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'requestNewJob', args: [def, p.credits, stringToHex(`bulk-${i}`, { size: 32 }), false] }) })),
  );
  const evs = await grid.publicClient.getContractEvents({ address: ms, abi: metaSchedulerAbi, eventName: 'NewJobRequestEvent', fromBlock: from, toBlock: to });
  const ids = evs.filter((e) => e.args._customerAddr?.toLowerCase() === c.account.address.toLowerCase()).map((e) => e.args._jobId as Hex);
  if (ids.length !== n) throw new Error(`requested ${n} jobs, found ${ids.length} NewJobRequestEvent`);
  return ids;
}

/** The oracle's role, in bulk: every job assigned to the provider; resolves with the block of the last assignment. */
export function metaScheduleAll(grid: Grid, ids: Hex[]): Promise<bigint> {
  const ms = grid.customers[0]!.client.addresses.metaScheduler;
  return sendSigned(
    grid.publicClient,
    grid.anvil.accounts[0]!.privateKey,
    ids.map((id) => ({ to: ms, data: encodeFunctionData({ abi: metaSchedulerAbi, functionName: 'metaSchedule', args: [id, grid.provider.address] }) })),
  );
}
