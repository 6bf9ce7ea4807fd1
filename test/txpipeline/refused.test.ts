// A transaction the node refuses for good after it passed simulation (here:
// its gas is over a block gas limit lowered after it was signed): it must not
// block every later nonce. After three refusals in a row it is given up
// ('lost': its owner re-plans), its nonce is filled with a 0-value
// self-transfer, and the later transaction is mined.
import { afterEach, describe, expect, it } from 'vitest';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import type { Db } from '../../src/state/db.js';
import { FILLER_KIND, type TxPipeline } from '../../src/txpipeline/pipeline.js';
import { captureLogger, mineAndPoll, openPipeline, openTestDb, recordEvents, SINK, tmpDir, txRows } from './helpers.js';

let anvil: Anvil | undefined;
let db: Db | undefined;
let pipe: TxPipeline | undefined;
const tmp = tmpDir();
afterEach(async () => {
  await pipe?.stop();
  pipe = undefined;
  db?.close();
  await anvil?.stop();
});

describe('a transaction refused for good after simulation', () => {
  it('is given up (lost, the owner re-plans), its nonce filled; the next nonce is mined', async () => {
    anvil = await startAnvil();
    await anvil.setAutomine(false);
    db = openTestDb(tmp.dir, 'refused.db');
    const log = captureLogger('info');
    const { p } = await openPipeline(anvil, db, { confirmations: 1, replaceAfterBlocks: 1, logger: log.logger });
    pipe = p;
    const evs = recordEvents(p, 't');
    // 2,000 bytes of calldata: ~53,000 gas, signed with ~64,000.
    const big = `0x${'ab'.repeat(2000)}` as const;
    const [a] = await p.submit([{ kind: 't', ref: 'big', to: SINK, data: big }]);
    expect(a?.ok).toBe(true);
    const aHash = (a as { hash: `0x${string}` }).hash;
    // The node loses it and now refuses its gas: over the block gas limit.
    await anvil.request('anvil_dropTransaction', [aHash]);
    await anvil.request('anvil_setBlockGasLimit', ['0x9c40']); // 40,000
    const [b] = await p.submit([{ kind: 't', ref: 'small', to: SINK, data: '0x', value: 1n }]);
    expect(b?.ok).toBe(true);
    for (let i = 0; i < 20 && !evs.some((e) => e.type === 'confirmed' && e.tx.ref === 'small'); i++) await mineAndPoll(anvil, p, 1);

    expect(evs.filter((e) => e.tx.ref === 'big').map((e) => e.type)).toEqual(['lost']);
    expect(evs.some((e) => e.type === 'confirmed' && e.tx.ref === 'small')).toBe(true);
    const rows = txRows(db);
    const nonceA = (a as { nonce: number }).nonce;
    expect(rows.filter((r) => r.nonce === nonceA).map((r) => [r.kind, r.state])).toEqual(
      expect.arrayContaining([
        ['t', 'lost'],
        [FILLER_KIND, 'confirmed'],
      ]),
    );
    expect(log.lines.some((l) => /refused by the node for good/.test(String(l.msg)))).toBe(true);
  }, 120_000);
});
