// The remote signer against a real signer process on loopback: an anvil with
// the provider's account unlocked answering eth_signTransaction, behind an
// HTTPS proxy (test CA made with openssl, client certificate required):
// the address check at start, the CA and the client certificate, and a
// signer down then up under the transaction pipeline.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recoverMessageAddress } from 'viem';

import { makeTestCa } from '../../harness/directory/certs.js';
import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { metaSchedulerReverts } from '../../src/metascheduler/revert-decoder.js';
import { loadProviderAccount } from '../../src/reporter/provider-account.js';
import { createRemoteSigner, RemoteSignerError, waitForSigner } from '../../src/signer/remote.js';
import type { SubmitOutcome } from '../../src/txpipeline/types.js';
import { startSignerProxy, type SignerProxy } from '../txpipeline/signer-proxy.js';
import { chainNonce, chainTxsFrom, openTestDb, recordEvents, tmpDir, transfer, txRows, waitFor } from '../txpipeline/helpers.js';
import { TxPipeline } from '../../src/txpipeline/pipeline.js';
import { keyCheck } from '../../src/doctor/key.js';
import { providerAddress } from '../../src/doctor/provider.js';
import { parseSupervisorConfig } from '../../src/supervisor/config.js';
import { pino } from 'pino';
import { configInput, ctxOf } from '../doctor/helpers.js';

let chain: Anvil;
let signerAnvil: Anvil;
let proxy: SignerProxy;
const tmp = tmpDir();

beforeAll(async () => {
  [chain, signerAnvil] = await Promise.all([startAnvil({ blockTime: 1 }), startAnvil()]);
  proxy = await startSignerProxy(signerAnvil.rpcUrl, { dir: tmp.dir, requireClientCert: true });
});
afterAll(async () => {
  await proxy?.stop();
  await Promise.all([chain?.stop(), signerAnvil?.stop()]);
  tmp.cleanup();
});

const settings = (i = 0) => ({ url: proxy.url, address: signerAnvil.accounts[i]!.address, caFile: proxy.ca.caFile, certFile: proxy.client.certFile, keyFile: proxy.client.keyFile, chainId: 31337 });

describe('remote signer (anvil behind an HTTPS proxy with a client certificate required)', () => {
  it('holds the configured address: check passes, transactions and messages recover to it', async () => {
    const s = createRemoteSigner(settings(3));
    try {
      await s.check();
      expect(await s.health()).toEqual({ ok: true });
      const sig = await s.account.signMessage({ message: { raw: '0xdeadbeef' } });
      expect(await recoverMessageAddress({ message: { raw: '0xdeadbeef' }, signature: sig })).toBe(signerAnvil.accounts[3]!.address);
    } finally {
      await s.close();
    }
  });

  it('a signer that does not hold the configured address stops start-up with a clear error (not waited for)', async () => {
    const other = '0x000000000000000000000000000000000000bEEF';
    const s = createRemoteSigner({ ...settings(), address: other });
    try {
      const t0 = Date.now();
      const err = await waitForSigner(s).catch((e: unknown) => e);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(err).toBeInstanceOf(RemoteSignerError);
      expect((err as RemoteSignerError).kind).toBe('mismatch');
      expect((err as Error).message).toMatch(/does not hold the configured chain\.signer\.address 0x0+bEEF/i);
      expect((err as Error).message).toContain(signerAnvil.accounts[0]!.address.toLowerCase());
      const h = await s.health();
      expect(h.ok).toBe(false);
      expect(h.error).toMatch(/does not hold/);
    } finally {
      await s.close();
    }
  });

  it('a signer certificate from another CA is refused (TLS), naming caFile', async () => {
    const wrong = makeTestCa(path.join(tmp.dir, 'wrong-ca'), 'wrong CA');
    const s = createRemoteSigner({ ...settings(), caFile: wrong.caFile });
    try {
      const err = await waitForSigner(s).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteSignerError);
      expect((err as RemoteSignerError).kind).toBe('tls');
      expect((err as Error).message).toContain(wrong.caFile);
      expect(proxy.answered).toBeGreaterThanOrEqual(0);
    } finally {
      await s.close();
    }
  });

  it('without the client certificate the signer refuses the connection; nothing is signed', async () => {
    const { certFile: _c, keyFile: _k, ...noCert } = settings();
    const s = createRemoteSigner(noCert);
    const before = proxy.answered;
    try {
      const err = await s.check().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteSignerError);
      expect((err as Error).message).toMatch(/client certificate|certFile/);
      expect(proxy.answered).toBe(before);
    } finally {
      await s.close();
    }
  });

  it('settings that cannot work are refused before any request', () => {
    expect(() => createRemoteSigner({ ...settings(), url: 'http://192.0.2.1:9000' })).toThrow(/not https/);
    expect(() => createRemoteSigner({ ...settings(), keyFile: undefined })).toThrow(/go together/);
    expect(() => loadProviderAccount({ chainId: 31337, keyFile: '/nonexistent', signer: settings() })).toThrow(/either chain\.keyFile or chain\.signer/);
  });

  it('signer down, then up: submits wait with backoff, then go through; none lost, nonces contiguous; health says so meanwhile', async () => {
    const acct = signerAnvil.accounts[5]!;
    const s = createRemoteSigner(settings(5));
    const db = openTestDb(tmp.dir, 'down-up.db');
    const p = await TxPipeline.open({ db, revertDecoder: metaSchedulerReverts, rpcUrl: chain.rpcUrl, chainId: 31337, account: s.account, pollMs: 100, confirmations: 1, submitWaitMs: 20_000, logger: pino({ level: 'silent' }) });
    const evs = recordEvents(p, 'w');
    p.start();
    try {
      const start = await chainNonce(chain, acct.address);
      await proxy.down();
      // A submit whose wait ends while the signer is down answers retry and takes no nonce.
      const p2 = await TxPipeline.open({ db: openTestDb(tmp.dir, 'short.db'), revertDecoder: metaSchedulerReverts, rpcUrl: chain.rpcUrl, chainId: 31337, account: s.account, submitWaitMs: 600, logger: pino({ level: 'silent' }) });
      const [short] = await p2.submit([transfer('w', 999)]);
      expect(short?.ok).toBe(false);
      expect(short && 'retry' in short && short.retry.message).toMatch(/cannot sign.*remote signer/);
      expect(p2.health().error).toMatch(/^signer: /);
      await p2.stop();

      const waiting: Array<Promise<SubmitOutcome[]>> = [];
      for (let k = 0; k < 3; k++) waiting.push(p.submit(Array.from({ length: 10 }, (_, j) => transfer('w', k * 10 + j))));
      await waitFor('health to report the signer', () => p.health().error?.startsWith('signer: '), 10_000, 50);
      expect(await s.health()).toMatchObject({ ok: false, kind: 'unreachable' });
      expect(txRows(db)).toHaveLength(0); // nothing signed, nothing taken
      await new Promise((r) => setTimeout(r, 1500));
      await proxy.up();
      const outs = (await Promise.all(waiting)).flat();
      expect(outs.every((o) => o.ok)).toBe(true);
      const nonces = outs.map((o) => (o.ok ? o.nonce : -1)).sort((a, b) => a - b);
      expect(nonces).toEqual(Array.from({ length: 30 }, (_, i) => start + i));
      await waitFor('30 confirmed', () => evs.filter((e) => e.type === 'confirmed').length >= 30, 60_000);
      const onChain = await chainTxsFrom(chain, acct.address);
      expect(onChain.map((t) => t.nonce).sort((a, b) => a - b)).toEqual(nonces);
      expect(p.health()).toMatchObject({ ok: true });
    } finally {
      await p.stop();
      db.close();
      await s.close();
    }
  });

  it('doctor: the key check says the signer is reachable and holds the address, or what is wrong and what to do', async () => {
    const input = configInput();
    const { chainId: _c, ...signer } = settings(2);
    const good = ctxOf({ input: { ...input, chain: { ...input.chain, signer } }, callTimeoutMs: 5000 });
    const r = await keyCheck.run(good, new AbortController().signal);
    expect(r).toMatchObject({ status: 'ok', detail: expect.stringMatching(/held by the remote signer https:\/\/127\.0\.0\.1:\d+\/ \(reachable, holds the address/) });
    expect(providerAddress(good)).toBe(signerAnvil.accounts[2]!.address);
    const bad = ctxOf({ input: { ...input, chain: { ...input.chain, signer: { ...signer, address: '0x000000000000000000000000000000000000bEEF' } } }, callTimeoutMs: 5000 });
    const r2 = await keyCheck.run(bad, new AbortController().signal);
    expect(r2).toMatchObject({ status: 'fail', detail: expect.stringMatching(/does not hold/), fix: expect.stringMatching(/chain\.signer\.address/) });
    await proxy.down();
    try {
      const r3 = await keyCheck.run(good, new AbortController().signal);
      expect(r3).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot reach it/), fix: expect.stringMatching(/start the signer/) });
    } finally {
      await proxy.up();
    }
  });

  it('configuration: exactly one of chain.keyFile and chain.signer', () => {
    const input = configInput();
    const { chainId: _c, ...signer } = settings();
    expect(() => parseSupervisorConfig({ ...input, chain: { ...input.chain, keyFile: '/etc/gridlink/provider.key', signer } })).toThrow(/either chain\.keyFile or chain\.signer/);
    expect(parseSupervisorConfig({ ...input, chain: { ...input.chain, signer } }).chain.signer).toMatchObject({ api: 'eth', timeoutMs: 10_000 });
  });
});

