// signer.ts - the pipeline's signing seam: every transaction is signed
// through a viem account (a local key's privateKeyToAccount, or a remote
// signer's custom account, src/signer/remote.ts); the pipeline never sees a
// private key. Signing is asynchronous (a remote signer is a network call),
// so the pipeline signs before the SQLite transaction that stores, under its
// nonce lock (nonce-sequence.ts): a crash before the commit stores and sends
// nothing, and no other allocation can slip in between.
import { keccak256, type Address, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

export interface UnsignedTx {
  chainId: number;
  nonce: number;
  to: Address;
  value: bigint;
  data: Hex;
  gas: bigint;
  maxFeePerGas: bigint;
  maxPriorityFeePerGas: bigint;
}

export interface SignedTx {
  /** The serialized signed transaction (eth_sendRawTransaction's argument). */
  raw: Hex;
  hash: Hex;
}

export class TxSigner {
  readonly address: Address;
  readonly #account: LocalAccount;

  constructor(account: LocalAccount) {
    this.#account = account;
    this.address = account.address;
  }

  /** From the options: exactly one of a private key or an account. */
  static of(o: { privateKey?: Hex | undefined; account?: LocalAccount | undefined }): TxSigner {
    if ((o.privateKey === undefined) === (o.account === undefined)) throw new Error('txpipeline: give exactly one of privateKey or account');
    if (o.account) return new TxSigner(o.account);
    if (!/^0x[0-9a-fA-F]{64}$/.test(o.privateKey!)) throw new Error('txpipeline: the private key must be 32 bytes of 0x-prefixed hex');
    return new TxSigner(privateKeyToAccount(o.privateKey!));
  }

  /** A remote account, not a key in this process. */
  get remote(): boolean {
    return this.#account.source !== 'privateKey';
  }

  async sign(tx: UnsignedTx): Promise<SignedTx> {
    const raw = await this.#account.signTransaction({
      type: 'eip1559',
      chainId: tx.chainId,
      nonce: tx.nonce,
      to: tx.to,
      value: tx.value,
      data: tx.data,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      accessList: [],
    });
    return { raw, hash: keccak256(raw) };
  }

  toJSON(): { address: Address } {
    return { address: this.address };
  }
}

/** Signing failed (a remote signer down, slow, refusing or answering for another address): nothing was taken. */
export class SigningError extends Error {
  override readonly name = 'SigningError';
}
