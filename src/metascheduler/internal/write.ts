// write.ts - how a write action sends: simulate (for the revert reason),
// send, wait for the receipt, and explain a revert after mining.
import type {
  Abi,
  Address,
  ContractFunctionArgs,
  ContractFunctionName,
  TransactionReceipt,
} from 'viem';
import { MetaSchedulerError, toMetaSchedulerError } from '../errors.js';
import { signerOf, type MetaSchedulerContext } from '../context.js';

export type Writable = 'nonpayable' | 'payable';

export interface WriteCall<
  abi extends Abi,
  fn extends ContractFunctionName<abi, Writable>,
> {
  address: Address;
  abi: abi;
  functionName: fn;
  args: ContractFunctionArgs<abi, Writable, fn>;
}

/**
 * Simulate, send, wait for the receipt. Simulating first is what makes the
 * revert reason available (a mined revert carries no data in the receipt), so
 * callers get a typed MetaSchedulerError instead of "execution reverted".
 */
export async function writeAndWait<const abi extends Abi, fn extends ContractFunctionName<abi, Writable>>(
  ctx: MetaSchedulerContext,
  call: WriteCall<abi, fn>,
): Promise<TransactionReceipt> {
  const { walletClient, account } = signerOf(ctx, call.functionName);
  // viem's generic inference does not survive this indirection; the call shape is checked by WriteCall.
  const params = {
    address: call.address,
    abi: call.abi as Abi,
    functionName: call.functionName as string,
    args: call.args as readonly unknown[],
    account,
  };
  let request;
  try {
    ({ request } = await ctx.publicClient.simulateContract(params as never));
  } catch (e) {
    throw toMetaSchedulerError(e, call.functionName);
  }
  let hash;
  try {
    hash = await walletClient.writeContract({ ...(request as object), chain: walletClient.chain } as never);
  } catch (e) {
    throw toMetaSchedulerError(e, call.functionName);
  }
  const receipt = await ctx.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status === 'reverted') {
    // The state moved between simulation and mining, usually because another
    // transaction of the same block got there first (two claims racing for one
    // job). Replaying on the state after that block reproduces the cause; the
    // parent block would not, since the winning transaction is not in it yet.
    try {
      await ctx.publicClient.simulateContract({ ...params, blockNumber: receipt.blockNumber } as never);
    } catch (e) {
      const err = toMetaSchedulerError(e, call.functionName);
      if (err instanceof MetaSchedulerError) throw err;
    }
    throw new MetaSchedulerError({
      name: 'Error',
      args: { reason: `transaction ${hash} reverted on chain (the state changed after simulation)` },
      functionName: call.functionName,
    });
  }
  return receipt;
}
