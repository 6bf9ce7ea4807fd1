// approve.ts - the grid admin's side of registration in the devnet and the
// tests: wait until the supervisor has registered the provider (it waits in
// the ProviderManager for approval), then approve it.
import { createPublicClient, http, type Address } from 'viem';
import { foundry } from 'viem/chains';

export async function approveWhenRegistered(o: { rpcUrl: string; providerManager: Address; provider: Address; approve(): Promise<unknown>; timeoutMs: number }): Promise<void> {
  const pc = createPublicClient({ chain: foundry, transport: http(o.rpcUrl) });
  const end = Date.now() + o.timeoutMs;
  for (;;) {
    const waiting = (await pc.readContract({
      address: o.providerManager,
      abi: [{ type: 'function', name: 'isWaitingForApproval', stateMutability: 'view', inputs: [{ type: 'address' }], outputs: [{ type: 'bool' }] }],
      functionName: 'isWaitingForApproval',
      args: [o.provider],
    })) as boolean;
    if (waiting) return void (await o.approve());
    if (Date.now() > end) throw new Error(`the supervisor did not register the provider within ${o.timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 300));
  }
}
