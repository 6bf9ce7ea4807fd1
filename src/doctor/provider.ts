// provider.ts - check `provider`: the provider (the address of the key) is
// registered and approved in the ProviderManager, and not banned. The key's
// address is read even from a key file the key check refuses (its mode), so
// that one fault gives one failing line.
import { readFileSync } from 'node:fs';

import type { Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { providerManagerAbi } from '../metascheduler/abi.generated.js';
import { getAddresses } from '../metascheduler/actions/getAddresses.js';
import { parsePrivateKey, PROVIDER_KEY_ENV } from '../reporter/provider-key.js';
import { publicClientOf } from './chain.js';
import { fail, noConfig, ok, skip, type Check, type DoctorContext, type Outcome } from './types.js';

export interface ProviderState {
  approved: boolean;
  waiting: boolean;
  banned: boolean;
}

/** The provider's address, from chain.signer.address, chain.keyFile or $GRIDLINK_PROVIDER_KEY, without the file checks. */
export function providerAddress(ctx: DoctorContext): Address | undefined {
  if (ctx.config?.chain.signer) return ctx.config.chain.signer.address;
  try {
    const file = ctx.config?.chain.keyFile;
    const text = file ? readFileSync(file, 'latin1') : ctx.env[PROVIDER_KEY_ENV];
    return text ? privateKeyToAccount(parsePrivateKey(text, 'provider key')).address : undefined;
  } catch {
    return undefined;
  }
}

export async function readProviderState(ctx: DoctorContext, provider: Address): Promise<ProviderState> {
  const pc = publicClientOf(ctx);
  const { providerManager } = await getAddresses(pc as never, { metaScheduler: ctx.config!.chain.metaScheduler as Address });
  const read = (functionName: 'isValidForScheduling' | 'isWaitingForApproval' | 'isBanned') =>
    pc.readContract({ address: providerManager, abi: providerManagerAbi, functionName, args: [provider] }) as Promise<boolean>;
  const [approved, waiting, banned] = await Promise.all([read('isValidForScheduling'), read('isWaitingForApproval'), read('isBanned')]);
  return { approved, waiting, banned };
}

export async function checkProvider(ctx: DoctorContext, state: (p: Address) => Promise<ProviderState> = (p) => readProviderState(ctx, p)): Promise<Outcome> {
  if (!ctx.config) return noConfig(ctx);
  const provider = providerAddress(ctx);
  if (!provider) return skip('not checked: no readable provider key (see the key check)');
  const s = await state(provider);
  if (s.approved) return ok(`${provider} approved`);
  if (s.banned) return fail(`${provider} is banned by the grid`, 'contact the grid\'s administrators');
  if (s.waiting) return fail(`${provider} is registered and waits for the grid admin's approval`, 'ask the grid\'s administrators to approve it (ProviderManager.approve)');
  return fail(`${provider} is not registered`, 'start the supervisor: it registers the provider at its first start, then an admin approves it');
}

export const providerCheck: Check = { name: 'provider', needs: ['contract'], run: (ctx) => checkProvider(ctx) };
