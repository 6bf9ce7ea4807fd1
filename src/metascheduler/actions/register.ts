// register.ts - the Meta-Scheduler action register(ctx, params). Provider:
// registers (or re-registers) the signer's cluster; it then waits for admin
// approval. Its pure encoder, encodeRegister(addresses, params), gives the
// same transaction as calldata for a transaction pipeline.
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, Label, ProviderHardware, ProviderPrices, TxResult } from '../types.js';

export interface RegisterParameters {
  hardware: ProviderHardware;
  prices: ProviderPrices;
  labels: readonly Label[];
}

export interface RegisterResult extends TxResult {
  /** True when ProviderWaitingForApproval was emitted: an admin must now approve. */
  waitingForApproval: boolean;
}

const call = (a: Pick<MetaSchedulerAddresses, 'providerManager'>, p: RegisterParameters) =>
  ({ address: a.providerManager, abi: providerManagerAbi, functionName: 'register', args: [p.hardware, p.prices, p.labels] }) as const;

/** Pure: the register transaction, for a transaction pipeline (the supervisor's registration). */
export function encodeRegister(a: Pick<MetaSchedulerAddresses, 'providerManager'>, p: RegisterParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Provider: registers (or re-registers) the signer's cluster; it then waits for admin approval. */
export async function register(ctx: MetaSchedulerContext, p: RegisterParameters): Promise<RegisterResult> {
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  return {
    ...txResult(receipt),
    waitingForApproval: eventsOf(receipt.logs, providerManagerAbi, ctx.addresses.providerManager, 'ProviderWaitingForApproval').length > 0,
  };
}
