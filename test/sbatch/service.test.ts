// The sbatch service and client over real gRPC on loopback, against anvil and
// the project's contracts: only the job's provider gets the job's script.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { hexToBytes, type Address, type Hex } from 'viem';
import { privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';

import { CREDIT, definition, fourPerMinute, smallCluster, startDevnet, type Devnet } from '../metascheduler/devnet.js';
import type { MetaSchedulerClient } from '../../src/metascheduler/client.js';
import { createSbatchClient, type SbatchClient } from '../../src/sbatch/client.js';
import { SbatchError } from '../../src/sbatch/errors.js';
import { sbatchProto, unary, type GetSBatchRequest } from '../../src/sbatch/proto.js';
import { startSbatchService, type SbatchService } from '../../src/sbatch/server.js';
import { signChallenge } from '../../src/sbatch/signature.js';
import { makeTlsFiles, type TlsFiles } from './tls-files.js';

const silent = pino({ level: 'silent' });
const SCRIPT = '#!/bin/bash\n#SBATCH --output=/dev/null\nsrun hostname\n';

let net: Devnet;
let svc: SbatchService;
let provider: MetaSchedulerClient;
let provider2: MetaSchedulerClient;
let providerAcct: PrivateKeyAccount;
let provider2Acct: PrivateKeyAccount;
let customerAddr: Address;
let client: SbatchClient;
const toClose: Array<{ close(): void }> = [];
const toStop: SbatchService[] = [];

async function service(o: Partial<Parameters<typeof startSbatchService>[0]> = {}): Promise<SbatchService> {
  const s = await startSbatchService({ rpcUrl: net.anvil.rpcUrl, metaScheduler: net.admin.addresses.metaScheduler, logger: silent, ...o });
  toStop.push(s);
  return s;
}

function clientFor(s: SbatchService, account = providerAcct, o: Partial<Parameters<typeof createSbatchClient>[0]> = {}): SbatchClient {
  const c = createSbatchClient({ endpoint: s.address, account, timeoutMs: 5_000, ...o });
  toClose.push(c);
  return c;
}

/** Customer requests a job whose definition carries `key`, the oracle assigns it to `to`, `to` claims it. */
async function claimedJob(key: string, to: MetaSchedulerClient = provider): Promise<Hex> {
  const { jobId } = await net.customer.requestNewJob(definition({ batchLocationHash: key }), 400n * CREDIT, 'sbatch-test');
  await net.admin.metaSchedule(jobId, to.walletClient!.account.address);
  const claim = await to.claimNextJob();
  expect(claim?.jobId).toBe(jobId);
  return jobId;
}

/** A raw GetSBatch, to send what the client never would. */
async function rawGet(s: SbatchService, patch: (r: GetSBatchRequest) => GetSBatchRequest | Promise<GetSBatchRequest>, base: { key: string; jobId: Hex; account?: PrivateKeyAccount }) {
  const proto = sbatchProto();
  const raw = new grpc.Client(s.address, grpc.credentials.createInsecure());
  try {
    const { challenge } = await unary(raw, proto.methods.challenge, {}, Date.now() + 5_000);
    const account = base.account ?? providerAcct;
    const req: GetSBatchRequest = {
      batch_location_hash: base.key,
      signed_challenge: await signChallenge(account, challenge),
      challenge,
      provider_address: hexToBytes(providerAcct.address),
      customer_address: hexToBytes(customerAddr),
      job_id: base.jobId,
    };
    return await unary(raw, proto.methods.getSBatch, await patch(req), Date.now() + 5_000);
  } finally {
    raw.close();
  }
}

const grpcCode = async (p: Promise<unknown>) => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err as grpc.ServiceError,
  );
  return e ? grpc.status[e.code] : 'OK';
};

const sbatchErr = async (p: Promise<unknown>): Promise<SbatchError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof SbatchError)) throw new Error(`expected an SbatchError, got ${String(e)}`);
  return e;
};

beforeAll(async () => {
  net = await startDevnet({ providers: 2 });
  [provider, provider2] = net.providers as [MetaSchedulerClient, MetaSchedulerClient];
  providerAcct = privateKeyToAccount(net.anvil.accounts[2]!.privateKey);
  provider2Acct = privateKeyToAccount(net.anvil.accounts[3]!.privateKey);
  customerAddr = net.customer.walletClient!.account.address;
  for (const p of [provider, provider2]) {
    await p.register(smallCluster, fourPerMinute);
    await net.admin.approveProvider(p.walletClient!.account.address);
  }
  svc = await service();
  client = clientFor(svc);
});

afterAll(async () => {
  for (const c of toClose) c.close();
  await Promise.all(toStop.map((s) => s.stop()));
  await net?.stop();
});

describe('sbatch service on anvil', () => {
  it('serves the script to the provider of a claimed job, with its grid logger URL', async () => {
    const key = await client.submit(SCRIPT, { gridLoggerUrl: 'https://logger.example/x' });
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    const jobId = await claimedJob(key);
    expect(await client.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId })).toEqual({ sbatch: SCRIPT, gridLoggerUrl: 'https://logger.example/x' });
    // Not consumed: a supervisor restarted after a crash can fetch again.
    expect((await client.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId })).sbatch).toBe(SCRIPT);
  });

  it('accepts v = 27/28 as well as 0/1, rejects v = 2, and rejects malformed fields', async () => {
    const key = await client.submit(SCRIPT);
    const jobId = await claimedJob(key);
    const withV = (f: (v: number) => number) => (r: GetSBatchRequest) => {
      const sig = Uint8Array.from(r.signed_challenge);
      sig[64] = f(sig[64]!);
      return { ...r, signed_challenge: sig };
    };
    expect((await rawGet(svc, withV((v) => v + 27), { key, jobId })).sbatch).toBe(SCRIPT);
    expect((await rawGet(svc, withV((v) => v), { key, jobId })).sbatch).toBe(SCRIPT);
    expect(await grpcCode(rawGet(svc, withV(() => 2), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, withV(() => 29), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, (r) => ({ ...r, provider_address: r.provider_address.slice(1) }), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, (r) => ({ ...r, customer_address: new Uint8Array(32) }), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, (r) => ({ ...r, signed_challenge: r.signed_challenge.slice(0, 64) }), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, (r) => ({ ...r, job_id: jobId.slice(2) }), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, (r) => ({ ...r, challenge: new Uint8Array(0) }), { key, jobId }))).toBe('INVALID_ARGUMENT');
    expect(await grpcCode(rawGet(svc, (r) => ({ ...r, batch_location_hash: '' }), { key, jobId }))).toBe('INVALID_ARGUMENT');
    // Upper-case job id hex is the same job.
    expect((await rawGet(svc, (r) => ({ ...r, job_id: `0x${jobId.slice(2).toUpperCase()}` }), { key, jobId })).sbatch).toBe(SCRIPT);
  });

  it('accepts each challenge once: a replay is UNAUTHENTICATED', async () => {
    const key = await client.submit(SCRIPT);
    const jobId = await claimedJob(key);
    let first: GetSBatchRequest | undefined;
    expect((await rawGet(svc, (r) => (first = r), { key, jobId })).sbatch).toBe(SCRIPT);
    const replay = rawGet(svc, () => first!, { key, jobId });
    expect(await grpcCode(replay)).toBe('UNAUTHENTICATED');
    // A challenge this service never issued, correctly signed, is refused too.
    const forged = new TextEncoder().encode('{"message":"login","nonce":"AAAAAAAAAAAAAAAAAAAAAA=="}');
    expect(await grpcCode(rawGet(svc, async (r) => ({ ...r, challenge: forged, signed_challenge: await signChallenge(providerAcct, forged) }), { key, jobId }))).toBe('UNAUTHENTICATED');
  });

  it('a failure on the service side (INTERNAL: its chain read threw) is retryable, and a refused challenge does not blame the provider key', async () => {
    const failing = await service({ jobReader: async () => { throw new Error('execution reverted: header not found'); } });
    const key = await clientFor(failing).submit(SCRIPT);
    const jobId = await claimedJob(key);
    const e = await sbatchErr(clientFor(failing).fetchScript({ batchLocationHash: key, customer: customerAddr, jobId }));
    expect(e.code).toBe(grpc.status.INTERNAL);
    expect(e.kind).toBe('unavailable');
    expect(e.message).toMatch(/failed on its side .*INTERNAL.*can be retried/);
    // A challenge this instance never issued (another instance behind the same endpoint did), correctly signed.
    const { toSbatchError } = await import('../../src/sbatch/errors.js');
    const foreign = new TextEncoder().encode('{"message":"login","nonce":"BBBBBBBBBBBBBBBBBBBBBB=="}');
    const refused = await rawGet(svc, async (r) => ({ ...r, challenge: foreign, signed_challenge: await signChallenge(providerAcct, foreign) }), { key: await client.submit(SCRIPT), jobId }).catch(
      (err: grpc.ServiceError) => err,
    );
    const mapped = toSbatchError(refused, { endpoint: svc.address, call: 'GetSBatch', tls: 'plaintext', timeoutMs: 5000 });
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect(mapped.kind).toBe('unavailable');
    expect(mapped.message).toMatch(/did not accept the challenge it had just issued.*provider key is not in question.*several service instances/);
    expect(mapped.message).not.toMatch(/check that the provider key/i);
  });

  it('refuses an expired challenge', async () => {
    const short = await service({ challengeTtlMs: 200 });
    const key = await clientFor(short).submit(SCRIPT);
    const jobId = await claimedJob(key);
    const e = await rawGet(
      short,
      async (r) => {
        await new Promise((res) => setTimeout(res, 400));
        return r;
      },
      { key, jobId },
    ).catch((err: grpc.ServiceError) => err);
    expect((e as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((e as grpc.ServiceError).details).toMatch(/expired|request a new one/);
    // A fresh challenge works.
    expect((await clientFor(short).fetchScript({ batchLocationHash: key, customer: customerAddr, jobId })).sbatch).toBe(SCRIPT);
  });

  it('refuses a signature by another key than provider_address', async () => {
    const key = await client.submit(SCRIPT);
    const jobId = await claimedJob(key);
    const e = await rawGet(svc, (r) => r, { key, jobId, account: provider2Acct }).catch((err: grpc.ServiceError) => err);
    expect((e as grpc.ServiceError).code).toBe(grpc.status.UNAUTHENTICATED);
    expect((e as grpc.ServiceError).details).toContain(provider2Acct.address);
  });

  it('refuses a job assigned to another provider, or asked for with another customer', async () => {
    const key = await client.submit(SCRIPT);
    const jobId = await claimedJob(key, provider2);
    const e = await sbatchErr(client.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId }));
    expect(e.kind).toBe('unauthenticated');
    expect(e.message).toMatch(/assigned to provider/);
    // ...which provider2 itself gets.
    expect((await clientFor(svc, provider2Acct).fetchScript({ batchLocationHash: key, customer: customerAddr, jobId })).sbatch).toBe(SCRIPT);

    const key2 = await client.submit(SCRIPT);
    const jobId2 = await claimedJob(key2);
    const e2 = await sbatchErr(client.fetchScript({ batchLocationHash: key2, customer: provider2Acct.address, jobId: jobId2 }));
    expect(e2.kind).toBe('unauthenticated');
    expect(e2.message).toMatch(/belongs to customer/);
    // A job id that is not on chain.
    const e3 = await sbatchErr(client.fetchScript({ batchLocationHash: key2, customer: customerAddr, jobId: `0x${'ab'.repeat(32)}` }));
    expect(e3.kind).toBe('unauthenticated');
    // Another job's key, even one that exists, is not this job's script.
    const e4 = await sbatchErr(client.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId: jobId2 }));
    expect(e4.kind).toBe('unauthenticated');
  });

  it('answers not_found for an unknown key and for an expired one', async () => {
    const unknown = 'f'.repeat(64);
    const jobId = await claimedJob(unknown);
    const e = await sbatchErr(client.fetchScript({ batchLocationHash: unknown, customer: customerAddr, jobId }));
    expect(e.kind).toBe('not_found');
    expect(e.message).toMatch(/unknown or expired.*FAILED/);

    const short = await service({ keyTtlMs: 300 });
    const shortClient = clientFor(short);
    const key = await shortClient.submit(SCRIPT);
    const jobId2 = await claimedJob(key);
    await new Promise((res) => setTimeout(res, 400));
    expect((await sbatchErr(shortClient.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId: jobId2 }))).kind).toBe('not_found');

    // A job with no key at all cannot run either.
    expect((await sbatchErr(client.fetchScript({ batchLocationHash: '', customer: customerAddr, jobId: jobId2 }))).kind).toBe('not_found');
  });

  it('refuses a script over 1 MiB at upload and takes one of exactly 1 MiB', async () => {
    const e = await sbatchErr(client.submit('#'.repeat(1024 * 1024 + 1)));
    expect(e.kind).toBe('refused');
    expect(e.message).toMatch(/1048577 bytes.*1048576/);
    expect(await client.submit('#'.repeat(1024 * 1024))).toMatch(/^[0-9a-f]{64}$/);
    expect((await sbatchErr(client.submit(''))).kind).toBe('refused');
    expect((await sbatchErr(client.submit(SCRIPT, { gridLoggerUrl: 'not a url' }))).kind).toBe('refused');
  });

  it('answers UNAVAILABLE when the chain cannot be read', async () => {
    const closed = await closedPort();
    const noChain = await service({ rpcUrl: `http://127.0.0.1:${closed}`, chainTimeoutMs: 1_000 });
    const c = clientFor(noChain);
    const key = await c.submit(SCRIPT);
    const e = await sbatchErr(c.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId: `0x${'01'.repeat(32)}` }));
    expect(e.kind).toBe('unavailable');
    expect(e.message).toMatch(/cannot serve GetSBatch right now: .*cannot read the chain/);
  });
});

describe('sbatch client failures', () => {
  it('reports a service that is down as unavailable, fast, with what to check', async () => {
    const port = await closedPort();
    const c = createSbatchClient({ endpoint: `127.0.0.1:${port}`, account: providerAcct, timeoutMs: 2_000 });
    toClose.push(c);
    const t0 = Date.now();
    const e = await sbatchErr(c.fetchScript({ batchLocationHash: 'k', customer: customerAddr, jobId: `0x${'01'.repeat(32)}` }));
    expect(Date.now() - t0).toBeLessThan(2_500);
    expect(e.kind).toBe('unavailable');
    expect(e.message).toMatch(/unreachable.*check that the service runs.*endpoint/);
    expect((await sbatchErr(c.submit(SCRIPT))).kind).toBe('unavailable');
  });

  it('gives up on a service that accepts connections but never answers, within the timeout', async () => {
    const sockets: Socket[] = [];
    const hole: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((res) => hole.listen(0, '127.0.0.1', res));
    const port = (hole.address() as { port: number }).port;
    try {
      const c = createSbatchClient({ endpoint: `127.0.0.1:${port}`, account: providerAcct, timeoutMs: 1_000 });
      toClose.push(c);
      const t0 = Date.now();
      const e = await sbatchErr(c.fetchScript({ batchLocationHash: 'k', customer: customerAddr, jobId: `0x${'01'.repeat(32)}` }));
      const took = Date.now() - t0;
      expect(took).toBeGreaterThanOrEqual(900);
      expect(took).toBeLessThan(2_000);
      expect(e.kind).toBe('unavailable');
      expect(e.message).toMatch(/within 1000 ms/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((res) => hole.close(res));
    }
  });

  it('rejects endpoints that are not host:port', () => {
    expect(() => createSbatchClient({ endpoint: 'http://x:1', account: providerAcct })).toThrow(/host:port/);
  });
});

describe('sbatch service over TLS', () => {
  let tls: TlsFiles;
  let tlsSvc: SbatchService;
  beforeAll(async () => {
    tls = makeTlsFiles();
    tlsSvc = await service({ tls: { certFile: tls.certFile, keyFile: tls.keyFile } });
  });
  afterAll(() => tls?.cleanup());

  it('works with the CA that signed the certificate', async () => {
    const c = clientFor(tlsSvc, providerAcct, { tls: { caFile: tls.caFile } });
    const key = await c.submit(SCRIPT);
    const jobId = await claimedJob(key);
    expect((await c.fetchScript({ batchLocationHash: key, customer: customerAddr, jobId })).sbatch).toBe(SCRIPT);
  });

  it('fails with a clear error under another CA, or in plaintext', async () => {
    const wrong = clientFor(tlsSvc, providerAcct, { tls: { caFile: tls.otherCaFile }, timeoutMs: 3_000 });
    const e = await sbatchErr(wrong.submit(SCRIPT));
    expect(e.kind).toBe('unavailable');
    expect(e.message).toMatch(/TLS handshake failed: check that the CA file/);

    const plain = clientFor(tlsSvc, providerAcct, { timeoutMs: 3_000 });
    const e2 = await sbatchErr(plain.submit(SCRIPT));
    expect(e2.kind).toBe('unavailable');

    expect(() => createSbatchClient({ endpoint: tlsSvc.address, tls: { caFile: `${tls.dir}/missing.pem` } })).toThrow(/cannot read .*CA file .*missing\.pem/);
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as { port: number }).port;
  await new Promise((res) => s.close(res));
  return port;
}

