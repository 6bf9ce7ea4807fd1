import { describe, expect, it } from 'vitest';
import { keccak256, parseGwei } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

import { bump125, bumpFees, gasWithMargin, includable, initialFees } from '../../src/txpipeline/fees.js';
import { TxSigner } from '../../src/txpipeline/signer.js';

const g = (x: number | string) => parseGwei(String(x));

describe('fee math', () => {
  it('first send: maxFee = 2 * baseFee + tip, tip as given', () => {
    expect(initialFees({ baseFee: g(10), tip: g(2), cap: g(500) })).toEqual({ maxFeePerGas: g(22), maxPriorityFeePerGas: g(2), capped: false, belowBaseFee: false });
  });

  it('first send never above the cap; the tip never above maxFee', () => {
    const f = initialFees({ baseFee: g(100), tip: g(2), cap: g(150) });
    expect(f).toEqual({ maxFeePerGas: g(150), maxPriorityFeePerGas: g(2), capped: true, belowBaseFee: false });
    const low = initialFees({ baseFee: g(100), tip: g(2), cap: g(1) });
    expect(low.maxFeePerGas).toBe(g(1));
    expect(low.maxPriorityFeePerGas).toBe(g(1));
    expect(low.belowBaseFee).toBe(true);
  });

  it('+12.5% rounds up (nodes want at least +10% on both fields)', () => {
    expect(bump125(8n)).toBe(9n);
    expect(bump125(9n)).toBe(11n); // 10.125 -> 11
    expect(bump125(g(1))).toBe(1_125_000_000n);
    for (const x of [1n, 7n, 100n, 12345n, g(3)]) expect(bump125(x) * 8n >= x * 9n).toBe(true);
  });

  it('a replacement raises both fields by >= 12.5% when the base fee did not move', () => {
    const r = bumpFees({ prev: { maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) }, baseFee: g(1), tip: g(1), cap: g(500) });
    expect(r).toEqual({ ok: true, capped: false, fees: { maxFeePerGas: g(3.375), maxPriorityFeePerGas: g(1.125) } });
  });

  it('a replacement pays at least 2 * the current baseFee + tip after a base fee rise', () => {
    const r = bumpFees({ prev: { maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) }, baseFee: g(100), tip: g(1), cap: g(500) });
    expect(r.ok && r.fees).toEqual({ maxFeePerGas: g(200) + g(1.125), maxPriorityFeePerGas: g(1.125) });
  });

  it('the configured tip wins when it is above +12.5%', () => {
    const r = bumpFees({ prev: { maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) }, baseFee: g(1), tip: g(5), cap: g(500) });
    expect(r.ok && r.fees).toEqual({ maxFeePerGas: g(7), maxPriorityFeePerGas: g(5) });
  });

  it('capped: held at the cap when the cap still allows +12.5%', () => {
    const r = bumpFees({ prev: { maxFeePerGas: g(100), maxPriorityFeePerGas: g(1) }, baseFee: g(1000), tip: g(1), cap: g(150) });
    expect(r).toEqual({ ok: true, capped: true, fees: { maxFeePerGas: g(150), maxPriorityFeePerGas: g(1.125) } });
  });

  it('capped: no replacement when the cap leaves less than +12.5% (keep the previous one)', () => {
    expect(bumpFees({ prev: { maxFeePerGas: g(140), maxPriorityFeePerGas: g(1) }, baseFee: g(1000), tip: g(1), cap: g(150) })).toEqual({ ok: false, capped: true });
    expect(bumpFees({ prev: { maxFeePerGas: g(150), maxPriorityFeePerGas: g(150) }, baseFee: g(1), tip: g(1), cap: g(160) })).toEqual({ ok: false, capped: true });
  });

  it('never returns a maxFee above the cap or a tip above maxFee', () => {
    for (const base of [0n, 1n, g(1), g(50), g(1000)]) {
      for (const cap of [g(1), g(10), g(200)]) {
        for (const prevMax of [g(1), g(5), g(100)]) {
          const r = bumpFees({ prev: { maxFeePerGas: prevMax, maxPriorityFeePerGas: prevMax / 3n }, baseFee: base, tip: g(2), cap });
          if (r.ok) {
            expect(r.fees.maxFeePerGas <= cap).toBe(true);
            expect(r.fees.maxPriorityFeePerGas <= r.fees.maxFeePerGas).toBe(true);
            expect(r.fees.maxFeePerGas * 8n >= prevMax * 9n).toBe(true);
          }
        }
      }
    }
  });

  it('includable: maxFee must reach the base fee', () => {
    expect(includable({ maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) }, g(3))).toBe(true);
    expect(includable({ maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) }, g(3) + 1n)).toBe(false);
  });

  it('gas margin: +20% by default, rounded up', () => {
    expect(gasWithMargin(50_000n, 0.2)).toBe(60_000n);
    expect(gasWithMargin(21_001n, 0.2)).toBe(25_202n); // 25201.2 -> 25202
    expect(gasWithMargin(100n, 0)).toBe(100n);
    expect(() => gasWithMargin(1n, -1)).toThrow(/margin/);
  });
});

describe('the pipeline signer (the account seam)', () => {
  it('signs a local key through its viem account: the bytes of viem local accounts (RFC 6979), and never exposes the key', async () => {
    const pk = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcb6dc91e4e7a5ea6e' as const;
    const s = TxSigner.of({ privateKey: pk });
    const acct = privateKeyToAccount(pk);
    expect(s.address).toBe(acct.address);
    expect(s.remote).toBe(false);
    const tx = { chainId: 31337, nonce: 7, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const, value: 5n, data: '0xdeadbeef' as const, gas: 60_000n, maxFeePerGas: g(3), maxPriorityFeePerGas: g(1) };
    const mine = await s.sign(tx);
    const viems = await acct.signTransaction({ type: 'eip1559', ...tx });
    expect(mine.raw).toBe(viems);
    expect(mine.hash).toBe(keccak256(viems));
    expect(JSON.stringify(s)).not.toContain(pk.slice(2));
    expect(JSON.stringify(s)).not.toContain(pk.slice(2).toUpperCase());
  });

  it('takes exactly one of a private key and an account', () => {
    const pk = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcb6dc91e4e7a5ea6e' as const;
    expect(() => TxSigner.of({})).toThrow(/exactly one/);
    expect(() => TxSigner.of({ privateKey: pk, account: privateKeyToAccount(pk) })).toThrow(/exactly one/);
  });
});
