// The login signature's bytes: r||s||v with v = 0/1, over the EIP-191 hash of
// the exact challenge bytes, as go-ethereum's crypto.Sign produces it.
import { describe, expect, it } from 'vitest';
import { bytesToHex, concat, hashMessage, keccak256, recoverMessageAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { secp256k1 } from '@noble/curves/secp256k1';

import { recoverChallengeSigner, recoveryBit, signChallenge, InvalidSignatureError } from '../../src/sbatch/signature.js';

const challenge = new TextEncoder().encode('{"message":"login","nonce":"AAECAwQFBgcICQoLDA0ODw=="}');

describe('challenge signature', () => {
  it('is 65 bytes with v = 0 or 1, and recovers the signer once v is mapped to 27/28', async () => {
    for (let i = 0; i < 8; i++) {
      const account = privateKeyToAccount(generatePrivateKey());
      const sig = await signChallenge(account, challenge);
      expect(sig.length).toBe(65);
      expect([0, 1]).toContain(sig[64]);
      const eth = Uint8Array.from(sig);
      eth[64] = sig[64]! + 27;
      expect(await recoverMessageAddress({ message: { raw: challenge }, signature: bytesToHex(eth) })).toBe(account.address);
      expect(await recoverChallengeSigner(challenge, sig)).toBe(account.address);
      expect(await recoverChallengeSigner(challenge, eth)).toBe(account.address);
    }
  });

  it('signs the EIP-191 personal-message hash of the raw bytes (checked with secp256k1 directly)', async () => {
    const pk = generatePrivateKey();
    const account = privateKeyToAccount(pk);
    const sig = await signChallenge(account, challenge);
    const digest = hashMessage({ raw: challenge });
    // "\x19Ethereum Signed Message:\n" + length + bytes
    const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${challenge.length}`);
    expect(keccak256(concat([prefix, challenge]))).toBe(digest);
    const s = secp256k1.Signature.fromCompact(sig.slice(0, 64)).addRecoveryBit(sig[64]!);
    const pub = s.recoverPublicKey(digest.slice(2)).toRawBytes(false);
    expect(bytesToHex(pub)).toBe(account.publicKey);
  });

  it('rejects v outside 0/1/27/28 and other lengths', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const sig = await signChallenge(account, challenge);
    expect(recoveryBit(2)).toBeUndefined();
    expect(recoveryBit(29)).toBeUndefined();
    const bad = Uint8Array.from(sig);
    bad[64] = 2;
    await expect(recoverChallengeSigner(challenge, bad)).rejects.toBeInstanceOf(InvalidSignatureError);
    await expect(recoverChallengeSigner(challenge, sig.slice(0, 64))).rejects.toThrow(/65 bytes/);
  });

  it('a signature over other bytes recovers another address', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const sig = await signChallenge(account, challenge);
    const other = Uint8Array.from(challenge);
    other[5] = other[5]! ^ 1;
    expect(await recoverChallengeSigner(other, sig)).not.toBe(account.address);
  });
});
