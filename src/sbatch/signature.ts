// signature.ts - the sbatch service's login signature: 65 bytes r||s||v over
// the EIP-191 personal-message hash of the exact challenge bytes. The grid's
// supervisor sends v = 0/1 (go-ethereum's crypto.Sign); the grid's service
// also accepts 27/28 and maps them to 0/1. viem signs with 27/28, so the
// client maps down and the server maps both forms to the recovery bit.
import { bytesToHex, hexToBytes, recoverMessageAddress, type Address, type LocalAccount } from 'viem';

export const SIGNATURE_BYTES = 65;

/** Signs `challenge` (its raw bytes) and returns r||s||v with v = 0 or 1. */
export async function signChallenge(account: LocalAccount, challenge: Uint8Array): Promise<Uint8Array> {
  const sig = hexToBytes(await account.signMessage({ message: { raw: challenge } }));
  if (sig.length !== SIGNATURE_BYTES) throw new Error(`the account produced a ${sig.length}-byte signature, expected ${SIGNATURE_BYTES}`);
  const v = recoveryBit(sig[64]!);
  if (v === undefined) throw new Error(`the account produced a signature with v = ${sig[64]}, expected 0, 1, 27 or 28`);
  sig[64] = v;
  return sig;
}

/** 0/1 for v in {0, 1, 27, 28}; undefined for anything else. */
export function recoveryBit(v: number): 0 | 1 | undefined {
  if (v === 0 || v === 27) return 0;
  if (v === 1 || v === 28) return 1;
  return undefined;
}

export class InvalidSignatureError extends Error {
  override readonly name = 'InvalidSignatureError';
}

/**
 * The address that signed `challenge`. Throws InvalidSignatureError when the
 * signature is not 65 bytes, v is not 0/1/27/28, or r/s do not recover a key.
 */
export async function recoverChallengeSigner(challenge: Uint8Array, signature: Uint8Array): Promise<Address> {
  if (signature.length !== SIGNATURE_BYTES) {
    throw new InvalidSignatureError(`signed_challenge must be ${SIGNATURE_BYTES} bytes (r||s||v), got ${signature.length}`);
  }
  const v = recoveryBit(signature[64]!);
  if (v === undefined) throw new InvalidSignatureError(`signed_challenge has v = ${signature[64]}: expected 0 or 1 (27 or 28 accepted)`);
  const normalized = Uint8Array.from(signature);
  normalized[64] = v;
  try {
    return await recoverMessageAddress({ message: { raw: challenge }, signature: bytesToHex(normalized) });
  } catch (e) {
    throw new InvalidSignatureError(`signed_challenge does not recover a public key (${(e as Error).message.split('\n')[0]})`);
  }
}
