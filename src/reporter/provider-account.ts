// provider-account.ts - the provider's signing account, from the chain
// configuration: the key (chain.keyFile or $GRIDLINK_PROVIDER_KEY, see
// provider-key.ts) or a remote signer (chain.signer, src/signer/remote.ts),
// exactly one of the key file and the signer. Everything that signs as the
// provider (the transaction pipeline, the sbatch challenge) takes `account`;
// only the pipeline's `signing` options tell the two apart.
import type { Address, Hex, LocalAccount } from 'viem';

import { createRemoteSigner, type RemoteSigner, type SignerApi } from '../signer/remote.js';
import { loadProviderKey, ProviderKeyError } from './provider-key.js';

export interface ProviderSignerConfig {
  url: string;
  address: Address;
  api?: SignerApi | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  timeoutMs?: number | undefined;
}

export interface ProviderAccountConfig {
  chainId: number;
  keyFile?: string | undefined;
  signer?: ProviderSignerConfig | undefined;
}

export interface ProviderAccount {
  address: Address;
  account: LocalAccount;
  /** Where it comes from, for logs: the key file, the environment variable, or the signer's URL. */
  source: string;
  /** What TxPipeline.open takes: the local key, or the remote account. */
  signing: { privateKey: Hex } | { account: LocalAccount };
  /** The remote signer, when chain.signer is set. */
  remote?: RemoteSigner;
  close(): Promise<void>;
}

export function loadProviderAccount(config: ProviderAccountConfig, env: NodeJS.ProcessEnv = process.env): ProviderAccount {
  if (config.signer && config.keyFile) throw new ProviderKeyError('give either chain.keyFile or chain.signer, not both: the provider signs with one key');
  if (config.signer) {
    const s = config.signer;
    const remote = createRemoteSigner({ ...s, chainId: config.chainId });
    return { address: remote.address, account: remote.account, source: `remote signer ${remote.url}`, signing: { account: remote.account }, remote, close: () => remote.close() };
  }
  const key = loadProviderKey({ keyFile: config.keyFile, env });
  return { address: key.account.address, account: key.account, source: key.source, signing: { privateKey: key.privateKey }, close: async () => {} };
}
