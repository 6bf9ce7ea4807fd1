// The two ways the pipeline signs, for the suites that run against both: a
// local key, and a remote signer (a second anvil, its dev accounts unlocked,
// behind an HTTPS proxy with a test CA and a required client certificate)
// reached through the viem account of src/signer/remote.ts. One signer per
// test file, made on first use; closeSigners() in the file's afterAll.
import type { Hex, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { createRemoteSigner, type RemoteSigner } from '../../src/signer/remote.js';
import { startSignerProxy, type SignerProxy } from './signer-proxy.js';
import { tmpDir } from './helpers.js';

export type AccountMode = 'local key' | 'remote signer';
export const ACCOUNT_MODES: readonly AccountMode[] = ['local key', 'remote signer'];

let fixture: Promise<{ anvil: Anvil; proxy: SignerProxy; tmp: { cleanup(): void } }> | undefined;
const signers: RemoteSigner[] = [];

/** The file's remote signer (its anvil and TLS proxy), started on first use. */
export function signerFixture(): Promise<{ anvil: Anvil; proxy: SignerProxy }> {
  fixture ??= (async () => {
    const tmp = tmpDir();
    const anvil = await startAnvil({ accounts: 20 });
    const proxy = await startSignerProxy(anvil.rpcUrl, { dir: tmp.dir, requireClientCert: true });
    return { anvil, proxy, tmp };
  })();
  return fixture;
}

/** Settings of a remote signer holding the account of `privateKey` (the signer anvil's dev accounts hold the same keys). */
export async function remoteSignerSettings(privateKey: Hex): Promise<{ url: string; address: Hex; caFile: string; certFile: string; keyFile: string }> {
  const { proxy } = await signerFixture();
  return { url: proxy.url, address: privateKeyToAccount(privateKey).address, caFile: proxy.ca.caFile, certFile: proxy.client.certFile, keyFile: proxy.client.keyFile };
}

export async function remoteSigner(privateKey: Hex, o: { timeoutMs?: number } = {}): Promise<RemoteSigner> {
  const s = createRemoteSigner({ ...(await remoteSignerSettings(privateKey)), chainId: 31337, ...o });
  signers.push(s);
  await s.check();
  return s;
}

/** What TxPipeline.open takes to sign as `privateKey`'s account in this mode. */
export async function signingOptions(mode: AccountMode, privateKey: Hex): Promise<{ privateKey: Hex } | { account: LocalAccount }> {
  return mode === 'local key' ? { privateKey } : { account: (await remoteSigner(privateKey)).account };
}

export async function closeSigners(): Promise<void> {
  await Promise.all(signers.splice(0).map((s) => s.close()));
  const f = fixture;
  fixture = undefined;
  if (!f) return;
  const { anvil, proxy, tmp } = await f;
  await proxy.stop();
  await anvil.stop();
  tmp.cleanup();
}
