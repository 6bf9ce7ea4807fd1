// remote.ts - the provider's account held by a remote signer (web3signer,
// Clef, or any node answering eth_signTransaction for an unlocked account):
// a viem custom account (toAccount) whose signTransaction and signMessage
// ask the signer over HTTPS (transport.ts) and accept the answer only when it
// is what was asked: the signed transaction carries exactly the requested
// fields and both signatures recover to the configured address. check() is
// the start-up check (the signer holds the address: its account list, then a
// test signature of a transaction no chain can ever include); health() is
// the same check, cached, for /healthz and doctor.
import {
  isHex, numberToHex, parseTransaction, recoverMessageAddress, recoverTransactionAddress, toHex,
  type Address, type Hex, type LocalAccount, type SignableMessage, type TransactionSerializable,
} from 'viem';
import { toAccount } from 'viem/accounts';

import { RemoteSignerError, SignerTransport, type SignerTransportOptions } from './transport.js';

export { RemoteSignerError, type RemoteSignerErrorKind } from './transport.js';

/**
 * 'eth': eth_signTransaction, eth_sign, eth_accounts (web3signer's eth1 API, anvil, geth-style nodes).
 * 'clef': account_signTransaction, account_signData (text/plain), account_list (Clef's external API).
 */
export type SignerApi = 'eth' | 'clef';

export interface RemoteSignerOptions extends SignerTransportOptions {
  /** The provider's address: the signer must hold it. */
  address: Address;
  /** Chain id of the test signature (the pipeline's chain). */
  chainId: number;
  api?: SignerApi | undefined;
  /** How long a health() answer is reused (default 5000 ms). */
  healthCacheMs?: number | undefined;
}

export interface SignerHealth {
  ok: boolean;
  /** What is wrong, for /healthz and doctor. */
  error?: string;
  kind?: RemoteSignerError['kind'];
}

export interface RemoteSigner {
  readonly address: Address;
  readonly url: string;
  /** A viem account: signTransaction and signMessage go to the signer; signTypedData is refused. */
  readonly account: LocalAccount;
  /** Throws a RemoteSignerError unless the signer is reachable and holds `address`. */
  check(): Promise<void>;
  /** check(), cached for healthCacheMs; never throws. */
  health(): Promise<SignerHealth>;
  close(): Promise<void>;
}

/** A nonce no account can reach (2^53 - 1): the start-up test signature can never be included in a block. */
const TEST_NONCE = Number.MAX_SAFE_INTEGER;

const same = (a: string | undefined, b: string | undefined) => (a ?? '').toLowerCase() === (b ?? '').toLowerCase();

export function createRemoteSigner(o: RemoteSignerOptions): RemoteSigner {
  const t = new SignerTransport(o);
  const address = o.address;
  const api = o.api ?? 'eth';
  const where = `remote signer ${t.url.origin}`;
  const cacheMs = o.healthCacheMs ?? 5000;

  const signTransaction = async (tx: TransactionSerializable): Promise<Hex> => {
    if (tx.type !== undefined && tx.type !== 'eip1559') throw new RemoteSignerError('refused', `${where}: only EIP-1559 transactions are signed remotely, asked for ${tx.type}`);
    if (tx.chainId === undefined || tx.nonce === undefined || tx.gas === undefined || tx.maxFeePerGas === undefined || tx.maxPriorityFeePerGas === undefined || !tx.to) {
      throw new RemoteSignerError('refused', `${where}: a transaction to sign needs chainId, nonce, gas, both fees and to`);
    }
    const data = tx.data ?? '0x';
    const value = tx.value ?? 0n;
    const req = {
      from: address,
      to: tx.to,
      gas: numberToHex(tx.gas),
      maxFeePerGas: numberToHex(tx.maxFeePerGas),
      maxPriorityFeePerGas: numberToHex(tx.maxPriorityFeePerGas),
      value: numberToHex(value),
      data,
      nonce: numberToHex(tx.nonce),
      chainId: numberToHex(tx.chainId),
      type: '0x2',
    };
    const res = await t.call(api === 'clef' ? 'account_signTransaction' : 'eth_signTransaction', [req]);
    const raw = typeof res === 'string' ? res : (res as { raw?: unknown } | null)?.raw;
    if (typeof raw !== 'string' || !isHex(raw)) throw new RemoteSignerError('mismatch', `${where}: the answer to a transaction signature is not a raw signed transaction (hex)`);
    let p: ReturnType<typeof parseTransaction>;
    try {
      p = parseTransaction(raw);
    } catch (err) {
      throw new RemoteSignerError('mismatch', `${where}: the signed transaction does not parse: ${(err as Error).message.split('\n')[0]}`);
    }
    const diff: string[] = [];
    if (p.type !== 'eip1559') diff.push(`type ${String(p.type)}`);
    if (p.chainId !== tx.chainId) diff.push(`chainId ${String(p.chainId)} (asked ${tx.chainId}: the signer's own chain id setting?)`);
    if (p.nonce !== tx.nonce) diff.push(`nonce ${String(p.nonce)}`);
    if (!same(p.to ?? undefined, tx.to)) diff.push(`to ${String(p.to)}`);
    if ((p.value ?? 0n) !== value) diff.push('value');
    if (!same(p.data ?? '0x', data)) diff.push('data');
    if (p.gas !== tx.gas) diff.push('gas');
    if (p.maxFeePerGas !== tx.maxFeePerGas || p.maxPriorityFeePerGas !== tx.maxPriorityFeePerGas) diff.push('fees');
    if (diff.length) throw new RemoteSignerError('mismatch', `${where} signed another transaction than asked (${diff.join(', ')}): refused, nothing sent`);
    const signer = await recoverTransactionAddress({ serializedTransaction: raw as never });
    if (!same(signer, address)) {
      throw new RemoteSignerError('mismatch', `${where} signed with ${signer}, not with the configured chain.signer.address ${address}: point chain.signer.address at the account the signer holds, or load the provider's key into the signer`);
    }
    return raw;
  };

  const signMessage = async ({ message }: { message: SignableMessage }): Promise<Hex> => {
    const hex = typeof message === 'string' ? toHex(message) : typeof message.raw === 'string' ? message.raw : toHex(message.raw);
    const res = api === 'clef' ? await t.call('account_signData', ['text/plain', address, hex]) : await t.call('eth_sign', [address, hex]);
    if (typeof res !== 'string' || !isHex(res)) throw new RemoteSignerError('mismatch', `${where}: the answer to a message signature is not hex`);
    const signer = await recoverMessageAddress({ message, signature: res });
    if (!same(signer, address)) throw new RemoteSignerError('mismatch', `${where} signed the message with ${signer}, not with the configured chain.signer.address ${address}`);
    return res;
  };

  const account = toAccount({
    address,
    signMessage,
    signTransaction: (tx) => signTransaction(tx as TransactionSerializable),
    signTypedData: () => Promise.reject(new RemoteSignerError('refused', `${where}: typed-data signatures are not used by gridlink and not asked of the signer`)),
  });

  const check = async (): Promise<void> => {
    let accounts: unknown;
    try {
      accounts = await t.call(api === 'clef' ? 'account_list' : 'eth_accounts', []);
    } catch (err) {
      // A signer without the listing method still proves the address by the test signature below.
      if (!(err instanceof RemoteSignerError) || err.kind !== 'refused') throw err;
    }
    if (Array.isArray(accounts) && !accounts.some((a) => typeof a === 'string' && same(a, address))) {
      const held = accounts.slice(0, 5).join(', ') || 'no account';
      throw new RemoteSignerError('mismatch', `${where} does not hold the configured chain.signer.address ${address} (it holds ${held}${accounts.length > 5 ? ', ...' : ''}): set chain.signer.address to the provider's address, or load the provider's key into the signer`);
    }
    await signTransaction({ type: 'eip1559', chainId: o.chainId, nonce: TEST_NONCE, to: address, value: 0n, data: '0x', gas: 21_000n, maxFeePerGas: 1n, maxPriorityFeePerGas: 1n });
  };

  let cached: { at: number; h: SignerHealth } | undefined;
  let running: Promise<SignerHealth> | undefined;
  const health = (): Promise<SignerHealth> => {
    if (cached && Date.now() - cached.at < cacheMs) return Promise.resolve(cached.h);
    running ??= check()
      .then(
        (): SignerHealth => ({ ok: true }),
        (err: unknown): SignerHealth => (err instanceof RemoteSignerError ? { ok: false, error: err.message, kind: err.kind } : { ok: false, error: `${where}: ${(err as Error).message}` }),
      )
      .then((h) => {
        cached = { at: Date.now(), h };
        running = undefined;
        return h;
      });
    return running;
  };

  return { address, url: t.url.href, account, check, health, close: () => t.close() };
}

/**
 * check() until it passes: a signer that is unreachable (down, slow, HTTP
 * 5xx) is waited for with backoff, `onWait` called each time; any other
 * failure (TLS, the address, a refusal) is thrown at once.
 */
export async function waitForSigner(s: RemoteSigner, o: { stopped?: () => boolean; onWait?: (err: RemoteSignerError, retryInMs: number) => void; maxDelayMs?: number } = {}): Promise<void> {
  for (let delay = 500; ; delay = Math.min(delay * 2, o.maxDelayMs ?? 30_000)) {
    try {
      await s.check();
      return;
    } catch (err) {
      if (!(err instanceof RemoteSignerError) || err.kind !== 'unreachable' || o.stopped?.()) throw err;
      o.onWait?.(err, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
