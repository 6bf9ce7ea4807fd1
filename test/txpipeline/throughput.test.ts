// Throughput: a burst of 1,000 providerSetJobStatus-sized transactions
// (~67k gas: two fresh storage slots each) with 1-second blocks, pipelined.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concat, numberToHex, pad, type Address, type Hex } from 'viem';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import type { TxEvent } from '../../src/txpipeline/types.js';
import { openPipeline, openTestDb, recordEvents, tmpDir, txRows, waitFor } from './helpers.js';

// runtime: sstore(cd[0], cd[32]); sstore(cd[0] + 1, cd[64]); stop
const RUNTIME = '0x602035600035556040356000356001015500';
const INITCODE = `0x6012600c60003960126000f3${RUNTIME.slice(2)}` as Hex;

let anvil: Anvil;
const tmp = tmpDir();
/** Confirmed transactions per second the burst needs to reach (the target). */
const TARGET = Number(process.env.TXPIPELINE_MIN_TPS ?? 150);

beforeAll(async () => {
  anvil = await startAnvil({ blockTime: 1 });
});
afterAll(async () => {
  await anvil?.stop();
  tmp.cleanup();
});

async function deployBurner(): Promise<Address> {
  const hash = (await anvil.request('eth_sendTransaction', [{ from: anvil.accounts[9]!.address, data: INITCODE }])) as Hex;
  const receipt = await waitFor('deployment', async () => (await anvil.request('eth_getTransactionReceipt', [hash])) as { contractAddress: Address } | null ?? undefined, 20_000);
  const code = (await anvil.request('eth_getCode', [receipt.contractAddress, 'latest'])) as Hex;
  expect(code).toBe(RUNTIME);
  return receipt.contractAddress;
}

describe('txpipeline throughput (anvil, 1 s blocks)', () => {
  it(`confirms a burst of 1,000 ~67k-gas calls at >= ${TARGET} tx/s`, async () => {
    const burner = await deployBurner();
    const db = openTestDb(tmp.dir);
    const { p } = await openPipeline(anvil, db, { confirmations: 1, pollMs: 100 });
    const evs = recordEvents(p, 'bench');
    p.start();
    const N = 1000;
    const reqs = Array.from({ length: N }, (_, i) => ({
      kind: 'bench',
      ref: String(i),
      to: burner,
      data: concat([pad(numberToHex(2 * i + 1)), pad(numberToHex(1000 + i)), pad(numberToHex(2000 + i))]),
    }));
    const t0 = performance.now();
    // Pipelined: 5 owners of 200 each at once (simulation of one overlaps the broadcast of another).
    const outs = (await Promise.all([0, 1, 2, 3, 4].map((k) => p.submit(reqs.slice(k * 200, (k + 1) * 200))))).flat();
    const tSubmitted = performance.now();
    expect(outs.every((o) => o.ok)).toBe(true);
    await waitFor('all confirmed', () => evs.filter((e) => e.type === 'confirmed').length >= N, 120_000, 20);
    const t1 = performance.now();
    const seconds = (t1 - t0) / 1000;
    const tps = N / seconds;
    const blocks = new Set(evs.filter((e): e is Extract<TxEvent, { type: 'mined' }> => e.type === 'mined').map((e) => e.block));
    const gas = (await Promise.all([...blocks].map(async (b) => BigInt(((await anvil.request('eth_getBlockByNumber', [numberToHex(b), false])) as { gasUsed: Hex }).gasUsed)))).reduce((a, x) => a + x, 0n);
    console.log(
      `txpipeline throughput: ${N} txs (${Number(gas / BigInt(N))} gas each) submitted in ${((tSubmitted - t0) / 1000).toFixed(2)} s, ` +
        `all confirmed (depth 1) in ${seconds.toFixed(2)} s over ${blocks.size} blocks: ${tps.toFixed(0)} tx/s`,
    );
    expect(Number(gas / BigInt(N))).toBeGreaterThan(50_000);
    expect(txRows(db).every((r) => r.state === 'confirmed')).toBe(true);
    expect(tps).toBeGreaterThanOrEqual(TARGET);
    await p.stop();
    db.close();
  });
});
