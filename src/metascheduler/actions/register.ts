import type { MetaSchedulerContext } from '../context.js';
import { providerManagerAbi } from '../abi.generated.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { Label, ProviderHardware, ProviderPrices, TxResult } from '../types.js';

export interface RegisterParameters {
  hardware: ProviderHardware;
  prices: ProviderPrices;
  labels: readonly Label[];
}

export interface RegisterResult extends TxResult {
  /** True when ProviderWaitingForApproval was emitted: an admin must now approve. */
  waitingForApproval: boolean;
}

/** Provider: registers (or re-registers) the signer's cluster; it then waits for admin approval. */
export async function register(ctx: MetaSchedulerContext, p: RegisterParameters): Promise<RegisterResult> {
  const address = ctx.addresses.providerManager;
  const receipt = await writeAndWait(ctx, {
    address,
    abi: providerManagerAbi,
    functionName: 'register',
    args: [p.hardware, p.prices, p.labels],
  });
  return {
    ...txResult(receipt),
    waitingForApproval: eventsOf(receipt.logs, providerManagerAbi, address, 'ProviderWaitingForApproval').length > 0,
  };
}
