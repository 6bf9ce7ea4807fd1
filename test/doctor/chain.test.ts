import type { Address } from 'viem';
import { describe, expect, it } from 'vitest';

import { checkChain } from '../../src/doctor/chain.js';
import { checkContract, type ContractReader } from '../../src/doctor/contract.js';
import { checkProvider, providerAddress } from '../../src/doctor/provider.js';
import type { MetaSchedulerAddresses } from '../../src/metascheduler/context.js';
import { configInput, ctxOf } from './helpers.js';

const ctx = ctxOf({ input: configInput(), env: { GRIDLINK_PROVIDER_KEY: `0x${'11'.repeat(32)}` } });

describe('chain, contract and provider checks', () => {
  it('chain: the expected id passes, another fails, no answer fails', async () => {
    expect(await checkChain(ctx, { getChainId: async () => 31337 })).toMatchObject({ status: 'ok', detail: 'chain id 31337 at http://127.0.0.1:1' });
    expect((await checkChain(ctx, { getChainId: async () => 1 })).detail).toMatch(/serves chain id 1, the configuration expects 31337/);
    expect((await checkChain(ctx)).detail).toMatch(/does not answer/); // nothing listens on port 1
  });

  it('contract: no code fails, code that is no MetaScheduler fails, a MetaScheduler passes', async () => {
    const reader = (code: string | undefined, answers: boolean): ContractReader => ({
      getCode: async () => code,
      addresses: async (ms) => {
        if (!answers) throw new Error('execution reverted');
        return { metaScheduler: ms, providerManager: '0x00000000000000000000000000000000000000aa' } as unknown as MetaSchedulerAddresses;
      },
    });
    expect((await checkContract(ctx, reader(undefined, true))).detail).toMatch(/^no contract at chain.metaScheduler/);
    expect((await checkContract(ctx, reader('0x6080', false))).detail).toMatch(/does not answer as a MetaScheduler: execution reverted/);
    expect(await checkContract(ctx, reader('0x6080', true))).toMatchObject({ status: 'ok', detail: expect.stringMatching(/ProviderManager 0x0+aa/) });
  });

  it('provider: approved, waiting, unregistered, banned', async () => {
    const addr = providerAddress(ctx) as Address;
    expect(addr).toBe('0x19E7E376E7C213B7E7e7e46cc70A5dD086DAff2A');
    const st = (approved: boolean, waiting: boolean, banned = false) => async () => ({ approved, waiting, banned });
    expect(await checkProvider(ctx, st(true, false))).toMatchObject({ status: 'ok', detail: `${addr} approved` });
    expect((await checkProvider(ctx, st(false, true))).fix).toMatch(/approve/);
    expect((await checkProvider(ctx, st(false, false))).detail).toMatch(/is not registered/);
    expect((await checkProvider(ctx, st(false, false, true))).detail).toMatch(/banned/);
    expect(await checkProvider(ctxOf({ input: configInput() }), st(true, false))).toMatchObject({ status: 'skip' });
  });
});
