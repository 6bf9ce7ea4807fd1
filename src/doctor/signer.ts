// signer.ts - check `key` when the provider's key lives in a remote signer
// (chain.signer): the signer is reachable over its TLS settings and holds
// the provider's address, checked exactly as the supervisor's start-up
// checks it (src/signer/remote.ts: its account list, then a test signature
// no chain can include).
import { createRemoteSigner, RemoteSignerError } from '../signer/remote.js';
import { fail, noConfig, ok, type DoctorContext, type Outcome } from './types.js';

const FIX: Record<RemoteSignerError['kind'], string> = {
  unreachable: 'start the signer, or fix chain.signer.url (host, port, https); the supervisor waits for it and signs nothing meanwhile',
  tls: 'fix chain.signer.caFile (the CA that issued the signer\'s certificate) or chain.signer.certFile/keyFile (a client certificate the signer accepts)',
  refused: 'allow this host and the provider\'s account in the signer\'s configuration (web3signer: the key\'s config file; Clef: its rules and the account\'s approval)',
  mismatch: 'set chain.signer.address to the provider\'s address and load the provider\'s key into the signer',
};

export async function checkSigner(ctx: DoctorContext): Promise<Outcome> {
  const c = ctx.config;
  if (!c?.chain.signer) return noConfig(ctx);
  let s: ReturnType<typeof createRemoteSigner> | undefined;
  try {
    s = createRemoteSigner({ ...c.chain.signer, chainId: c.chain.chainId, timeoutMs: Math.min(c.chain.signer.timeoutMs, ctx.callTimeoutMs) });
    await s.check();
    return ok(`provider ${s.address} held by the remote signer ${s.url} (reachable, holds the address, signs for chain ${c.chain.chainId})`);
  } catch (err) {
    const kind = err instanceof RemoteSignerError ? err.kind : 'refused';
    return fail((err as Error).message, FIX[kind]);
  } finally {
    await s?.close();
  }
}
