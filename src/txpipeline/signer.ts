// signer.ts - synchronous EIP-1559 signing. viem's local accounts sign
// asynchronously; the pipeline must allocate a nonce, sign and insert the row
// with no await in between (so no other allocation, and no crash window that
// skips a nonce), hence this: viem's serializer and keccak256 around
// @noble/curves' synchronous secp256k1 (what viem's own `sign` calls).
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak256, numberToHex, serializeTransaction, type Address, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';

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

export class SyncSigner {
  readonly address: Address;
  // A private field: not enumerable, so the key never reaches a log line or JSON.
  readonly #key: Uint8Array;

  constructor(privateKey: Hex) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(privateKey)) throw new Error('the private key must be 32 bytes of 0x-prefixed hex');
    this.address = privateKeyToAddress(privateKey);
    this.#key = Uint8Array.from(Buffer.from(privateKey.slice(2), 'hex'));
  }

  sign(tx: UnsignedTx): SignedTx {
    const unsigned = {
      type: 'eip1559' as const,
      chainId: tx.chainId,
      nonce: tx.nonce,
      to: tx.to,
      value: tx.value,
      data: tx.data,
      gas: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      accessList: [],
    };
    const digest = keccak256(serializeTransaction(unsigned), 'bytes');
    const sig = secp256k1.sign(digest, this.#key, { lowS: true });
    const raw = serializeTransaction(unsigned, {
      r: numberToHex(sig.r, { size: 32 }),
      s: numberToHex(sig.s, { size: 32 }),
      yParity: sig.recovery,
    });
    return { raw, hash: keccak256(raw) };
  }

  toJSON(): { address: Address } {
    return { address: this.address };
  }
}
