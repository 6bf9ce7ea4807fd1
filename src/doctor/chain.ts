// chain.ts - check `chain`: the RPC answers with the chain id the
// configuration expects (the supervisor refuses to start otherwise).
import { createPublicClient, http, type PublicClient } from 'viem';

import { fail, noConfig, ok, type Check, type DoctorContext, type Outcome } from './types.js';

export function publicClientOf(ctx: DoctorContext): PublicClient {
  return createPublicClient({ transport: http(ctx.config!.chain.rpcUrl, { retryCount: 0, timeout: ctx.callTimeoutMs }) }) as PublicClient;
}

export async function checkChain(ctx: DoctorContext, client: Pick<PublicClient, 'getChainId'> | undefined = undefined): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const { rpcUrl, chainId } = ctx.config.chain;
  let id: number;
  try {
    id = await (client ?? publicClientOf(ctx)).getChainId();
  } catch (err) {
    return fail(`${rpcUrl} does not answer: ${(err as Error).message.split('\n')[0]}`, 'check chain.rpcUrl and that the node runs and is reachable from this host');
  }
  if (id !== chainId) return fail(`${rpcUrl} serves chain id ${id}, the configuration expects ${chainId}`, 'point chain.rpcUrl at the right network or correct chain.chainId');
  return ok(`chain id ${id} at ${rpcUrl}`);
}

export const chainCheck: Check = { name: 'chain', run: (ctx) => checkChain(ctx) };
