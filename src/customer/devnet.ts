// devnet.ts - the customer's defaults when a devnet runs on this machine: its
// state file (`npm run devnet` writes it, mode 0600) gives the RPC URL, the
// MetaScheduler's address, the sbatch service, the dev customer's key and
// the supervisor's store and config (the provider's side of a job).
import { readFileSync } from 'node:fs';

import type { Address, Hex } from 'viem';

import type { CreateCustomerContextParameters } from './context.js';

/**
 * The part of the devnet's state file (harness/devnet/state.ts DevnetState) a
 * customer needs; declared here so that shipped code does not depend on the
 * devnet, which is not in the package.
 */
export interface DevnetState {
  dir: string;
  phase: string;
  chain?: { rpcUrl: string; contracts: Record<string, string> } | undefined;
  accounts?: { role: string; address: string; privateKey: string }[] | undefined;
  sbatch?: { address: string } | undefined;
  supervisor?: { db: string; config: string } | undefined;
}

/** The state file's content when it describes a devnet that is up (undefined otherwise). */
export function readDevnetState(file: string): DevnetState | undefined {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as DevnetState;
    return s.phase === 'up' && s.chain && s.accounts ? s : undefined;
  } catch {
    return undefined;
  }
}

/** The devnet's customer connection: every parameter of createCustomerContext. */
export function devnetCustomer(s: DevnetState): CreateCustomerContextParameters {
  const customer = s.accounts!.find((a) => a.role.startsWith('customer'));
  if (!customer) throw new Error(`the devnet in ${s.dir} has no customer account: restart it (npm run devnet:down && npm run devnet)`);
  return {
    rpcUrl: s.chain!.rpcUrl,
    metaScheduler: s.chain!.contracts.metaScheduler as Address,
    privateKey: customer.privateKey as Hex,
    sbatch: s.sbatch ? { endpoint: s.sbatch.address } : undefined,
    provider: s.supervisor ? { db: s.supervisor.db, config: s.supervisor.config } : undefined,
  };
}
