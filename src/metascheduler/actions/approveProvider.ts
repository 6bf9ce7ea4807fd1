// approveProvider.ts - the Meta-Scheduler action approveProvider(ctx,
// params). Admin: approves a provider waiting for approval, making it valid
// for scheduling. Its pure encoder, encodeApproveProvider(addresses, params),
// gives the same transaction as calldata for a transaction pipeline.
import type { Address } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, TxResult } from '../types.js';

export interface ApproveProviderParameters {
  provider: Address;
}

export interface ApproveProviderResult extends TxResult {
  approved: boolean;
}

const call = (a: Pick<MetaSchedulerAddresses, 'providerManager'>, p: ApproveProviderParameters) =>
  ({ address: a.providerManager, abi: providerManagerAbi, functionName: 'approve', args: [p.provider] }) as const;

/** Pure: the approveProvider transaction, for a transaction pipeline. */
export function encodeApproveProvider(a: Pick<MetaSchedulerAddresses, 'providerManager'>, p: ApproveProviderParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Admin: approves a provider waiting for approval, making it valid for scheduling. */
export async function approveProvider(ctx: MetaSchedulerContext, p: ApproveProviderParameters): Promise<ApproveProviderResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return {
    ...txResult(receipt),
    approved: eventsOf(receipt.logs, providerManagerAbi, ctx.addresses.providerManager, 'ProviderApproved').length > 0,
  };
}
