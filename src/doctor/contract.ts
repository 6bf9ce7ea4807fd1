// contract.ts - check `contract`: chain.metaScheduler holds code and answers
// as a MetaScheduler (the part addresses it was deployed with, read exactly
// as the supervisor does at start).
import type { Address, PublicClient } from 'viem';

import { getAddresses } from '../metascheduler/actions/getAddresses.js';
import type { MetaSchedulerAddresses } from '../metascheduler/context.js';
import { publicClientOf } from './chain.js';
import { fail, noConfig, ok, type Check, type DoctorContext, type Outcome } from './types.js';

export interface ContractReader {
  getCode(address: Address): Promise<string | undefined>;
  addresses(metaScheduler: Address): Promise<MetaSchedulerAddresses>;
}

export function contractReader(pc: PublicClient): ContractReader {
  return {
    getCode: (address) => pc.getCode({ address }),
    addresses: (ms) => getAddresses(pc as never, { metaScheduler: ms }),
  };
}

export async function checkContract(ctx: DoctorContext, reader?: ContractReader): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const ms = ctx.config.chain.metaScheduler as Address;
  const r = reader ?? contractReader(publicClientOf(ctx));
  const code = await r.getCode(ms);
  if (!code || code === '0x') return fail(`no contract at chain.metaScheduler ${ms} on chain ${ctx.config.chain.chainId}`, 'set chain.metaScheduler to the MetaScheduler address the grid publishes for this network');
  try {
    const a = await r.addresses(ms);
    return ok(`MetaScheduler at ${ms} (ProviderManager ${a.providerManager})`);
  } catch (err) {
    return fail(`${ms} holds a contract that does not answer as a MetaScheduler: ${(err as Error).message.split('\n')[0]}`, 'set chain.metaScheduler to the MetaScheduler address (not another part\'s)');
  }
}

export const contractCheck: Check = { name: 'contract', needs: ['chain'], run: (ctx) => checkContract(ctx) };
