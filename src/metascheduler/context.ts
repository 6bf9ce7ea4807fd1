// context.ts - what every Meta-Scheduler action receives: a read client, an
// optional signer and the contract addresses.
import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from 'viem';

/** Addresses of the Meta-Scheduler and of the parts it reads back. */
export interface MetaSchedulerAddresses {
  metaScheduler: Address;
  credit: Address;
  constants: Address;
  providerManager: Address;
  providerJobQueues: Address;
  jobs: Address;
}

/**
 * What every action receives: a read client, an optional signer and the
 * contract addresses. Actions keep no state of their own.
 */
export interface MetaSchedulerContext {
  publicClient: PublicClient<Transport, Chain | undefined>;
  /** Needed by write actions; its hoisted account signs. */
  walletClient?: WalletClient<Transport, Chain | undefined, Account> | undefined;
  addresses: MetaSchedulerAddresses;
}

export function signerOf(ctx: MetaSchedulerContext, action: string): {
  walletClient: WalletClient<Transport, Chain | undefined, Account>;
  account: Account;
} {
  const walletClient = ctx.walletClient;
  if (!walletClient?.account) {
    throw new Error(`${action} sends a transaction: create the client with a walletClient that has an account`);
  }
  return { walletClient, account: walletClient.account };
}

/** The signer's address, or the explicit one; views default to "me". */
export function addressOrSelf(ctx: MetaSchedulerContext, addr: Address | undefined, action: string): Address {
  if (addr) return addr;
  const a = ctx.walletClient?.account?.address;
  if (!a) throw new Error(`${action}: pass an address or create the client with a walletClient`);
  return a;
}
