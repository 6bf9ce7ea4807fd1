import type { Address } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { TxResult } from '../types.js';

export interface ApproveProviderResult extends TxResult {
  approved: boolean;
}

/** Admin: approves a provider waiting for approval, making it valid for scheduling. */
export async function approveProvider(ctx: MetaSchedulerContext, provider: Address): Promise<ApproveProviderResult> {
  const address = ctx.addresses.providerManager;
  const receipt = await writeAndWait(ctx, {
    address,
    abi: providerManagerAbi,
    functionName: 'approve',
    args: [provider],
  });
  return {
    ...txResult(receipt),
    approved: eventsOf(receipt.logs, providerManagerAbi, address, 'ProviderApproved').length > 0,
  };
}
