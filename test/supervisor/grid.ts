// grid.ts - the whole grid for the supervisor's acceptance tests: anvil (one
// block per second) with the project's contracts, the devnet oracle, the
// sbatch service, two customers with credits and Linux users, and a real
// 2-node SLURM cluster (2 GPUs per node as countable gres) whose plugins
// relay, embedded in slurmctld and slurmd, to the supervisor's ingest port.
// The provider is NOT registered: the supervisor registers it and the test
// approves it as the grid admin would.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { pino, type Logger } from 'pino';
import { createPublicClient, createWalletClient, http, stringToHex, type Address, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { startAnvil, type Anvil, type AnvilAccount } from '../../harness/devnet/anvil.js';
import { approveWhenRegistered } from '../../harness/devnet/approve.js';
import { approveCredits, deployMetaScheduler } from '../../harness/devnet/deploy.js';
import { startSbatchProcess } from '../../harness/devnet/sbatch-process.js';
import { startOracle, type Oracle } from '../../harness/devnet/oracle.js';
import { createMetaSchedulerClient, type MetaSchedulerClient } from '../../src/metascheduler/client.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Job, JobDefinition } from '../../src/metascheduler/types.js';
import { createSbatchClient, type SbatchClient } from '../../src/sbatch/client.js';
import { parseSupervisorConfig, type SupervisorConfig } from '../../src/supervisor/config.js';
import { startSupervisor, type Supervisor } from '../../src/compose/supervisor-root.js';
import { startBridge, type Bridge } from '../bridge/bridge.js';
import { ensureLocalUsers, type LocalUser } from '../helpers/local-users.js';
import { waitFor } from '../plugins/with-plugins.js';
import { freePort, providerKeyFile } from '../reporter/chain-harness.js';

export const CREDIT = 10n ** 18n;
/** 1 credit per CPU-minute, nothing for memory or GPUs... except 2 credits per GPU-minute. */
export const PRICES = { cpuPerMin: '1', memPerMin: '0', gpuPerMin: '2' };

export interface Customer {
  account: AnvilAccount;
  client: MetaSchedulerClient;
  user: LocalUser;
}

export interface Grid {
  anvil: Anvil;
  publicClient: PublicClient;
  admin: MetaSchedulerClient;
  customers: Customer[];
  provider: AnvilAccount;
  oracle: Oracle;
  /** `gridlink sbatch-service` in a process of its own, as the grid runs it apart from the provider. */
  sbatch: { address: string; stop(): Promise<void> };
  uploader: SbatchClient;
  bridge: Bridge;
  ingestPort: number;
  storeDir: string;
  /** The supervisor's configuration for this grid (local backend), with overrides merged in. */
  config(overrides?: (c: Record<string, any>) => void): SupervisorConfig;
  configInput(overrides?: (c: Record<string, any>) => void): Record<string, any>;
  /** Approves the provider as soon as it registered. */
  approveWhenRegistered(timeoutMs?: number): Promise<void>;
  /** The customer uploads the script and requests the job; resolves with its id. */
  requestJob(p: { customer?: number; script: string; definition?: Partial<JobDefinition>; credits?: bigint; name?: string }): Promise<Hex>;
  job(id: Hex): Promise<Job>;
  waitStatus(id: Hex, status: JobStatus | JobStatus[], timeoutMs?: number): Promise<Job>;
  creditBalance(a: Address): Promise<bigint>;
  stop(): Promise<void>;
}

export function jobDefinition(p: Partial<JobDefinition> = {}): JobDefinition {
  return { gpus: 0n, memPerCpu: 64n, cpusPerTask: 1n, ntasks: 1n, batchLocationHash: '', storageType: 0, uses: [], affinity: [], ...p };
}

export interface StartGridOptions {
  customers?: number;
  /** Start the devnet oracle (default true); bulk tests assign jobs themselves. */
  oracle?: boolean;
  /**
   * The customers' Linux users: `local` (default) appends them to /etc/passwd
   * (the NSS resolver's tests); `none` leaves them to the LDAP connector, and
   * takes anvil accounts 5 and up, whose names never are in /etc/passwd
   * (files come before sss in nsswitch.conf). Their `user` is then what the
   * connector will create: name only, uid and gid -1.
   */
  users?: 'local' | 'none';
  /** More options of both plugins (their embedded relays), e.g. home_root=, users_url= (resolver "gridlink"). */
  pluginOptions?: string[];
}

export async function startGrid(o: StartGridOptions = {}): Promise<Grid> {
  const stops: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const f of stops.reverse()) await Promise.resolve(f()).catch(() => undefined);
  };
  let bridgeP: Promise<Bridge> | undefined;
  let bridgeOwned = false;
  try {
    // The cluster needs nothing of the chain: it starts (a few seconds, maybe
    // waiting for the machine's cluster lock) while anvil, the contracts and
    // the sbatch service come up.
    const ingestPort = await freePort();
    bridgeP = startBridge(`http://127.0.0.1:${ingestPort}`, 'embedded', o.pluginOptions ?? [], 2);
    bridgeP.catch(() => undefined); // awaited below: no unhandled rejection meanwhile
    const anvil = await startAnvil();
    stops.push(() => anvil.stop());
    const [adminAcct, c1, provider, c2] = anvil.accounts as [AnvilAccount, AnvilAccount, AnvilAccount, AnvilAccount];
    const customerAccts = (o.users === 'none' ? anvil.accounts.slice(5) : [c1, c2]).slice(0, o.customers ?? 2);
    const deployed = await deployMetaScheduler({
      rpcUrl: anvil.rpcUrl,
      adminKey: adminAcct.privateKey,
      oracleAddress: adminAcct.address,
      customers: customerAccts.map((a) => ({ address: a.address, amount: 1_000_000n * CREDIT })),
    });
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 100, cacheTime: 0 }) as PublicClient;
    const base = await createMetaSchedulerClient({ publicClient: publicClient as never, address: deployed.metaScheduler });
    const clientFor = (pk: Hex) => base.withWalletClient(createWalletClient({ account: privateKeyToAccount(pk), chain: foundry, transport }));
    const admin = clientFor(adminAcct.privateKey);
    const names = customerAccts.map((a) => a.address.toLowerCase());
    const users: LocalUser[] = o.users === 'none' ? names.map((name) => ({ name, uid: -1, gid: -1, home: '' })) : ensureLocalUsers(names);
    const customers: Customer[] = customerAccts.map((account, i) => ({ account, client: clientFor(account.privateKey), user: users[i]! }));
    for (const c of customers) await approveCredits(anvil.rpcUrl, c.account.privateKey, deployed);

    const storeDir = mkdtempSync(join(tmpdir(), 'gl-supervisor-'));
    const sbatch = await startSbatchProcess(anvil.rpcUrl, deployed.metaScheduler, join(storeDir, 'sbatch-service.log'));
    stops.push(() => sbatch.stop());
    const uploader = createSbatchClient({ endpoint: sbatch.address });
    stops.push(() => uploader.close());

    const bridge = await bridgeP;
    bridgeOwned = true;
    stops.push(() => bridge.stop());
    const oracle = o.oracle === false ? { stop: async () => {}, tick: async () => {} } : startOracle({ client: admin, pollIntervalMs: 300, logger: pino({ level: 'warn' }) });
    stops.push(() => oracle.stop());
    await anvil.request('evm_setAutomine', [false]);
    await anvil.request('evm_setIntervalMining', [1]);

    const keyFile = providerKeyFile(storeDir, provider.privateKey);
    const cluster = bridge.pc.cluster;
    const configInput = (overrides?: (c: Record<string, any>) => void) => {
      const c: Record<string, any> = {
        chain: { rpcUrl: anvil.rpcUrl, wsUrl: anvil.wsUrl, chainId: foundry.id, metaScheduler: deployed.metaScheduler, keyFile, confirmations: 1, pollMs: 200, reconcile: { slurmConf: cluster.confPath, intervalMs: 5000 } },
        ingest: { listen: { host: '127.0.0.1', port: ingestPort }, storeDir, allowedUids: [0] },
        slurm: { backend: 'local', slurmConf: cluster.confPath, partition: cluster.partition },
        provider: { prices: PRICES, labels: { region: 'test', os: 'linux' }, approvalPollMs: 300 },
        sbatch: { endpoint: sbatch.address },
        claims: { pollMs: 200, backoffMs: 200, maxBackoffMs: 2000, uncertainGraceMs: 3000 },
      };
      overrides?.(c);
      return c;
    };
    const job = (id: Hex) => base.getJob(id);
    return {
      anvil,
      publicClient,
      admin,
      customers,
      provider,
      oracle,
      sbatch,
      uploader,
      bridge,
      ingestPort,
      storeDir,
      configInput,
      config: (overrides) => parseSupervisorConfig(configInput(overrides)),
      approveWhenRegistered: (timeoutMs = 60_000) =>
        approveWhenRegistered({ rpcUrl: anvil.rpcUrl, providerManager: deployed.providerManager, provider: provider.address, approve: () => admin.approveProvider(provider.address), timeoutMs }),
      async requestJob(p) {
        const c = customers[p.customer ?? 0]!;
        const hash = await uploader.submit(p.script);
        const def = jobDefinition({ ...p.definition, batchLocationHash: hash });
        const r = await c.client.requestNewJob(def, p.credits ?? 100n * CREDIT, stringToHex(p.name ?? 'test', { size: 32 }), false);
        return r.jobId;
      },
      job,
      async waitStatus(id, status, timeoutMs = 120_000) {
        const want = Array.isArray(status) ? status : [status];
        let last: Job | undefined;
        await waitFor(`job ${id} in ${want.map((s) => JobStatus[s]).join('/')}`, async () => want.includes((last = await job(id)).status), timeoutMs);
        return last!;
      },
      creditBalance: (a) => base.getCreditBalance(a),
      stop,
    };
  } catch (err) {
    await stop();
    if (bridgeP && !bridgeOwned) await bridgeP.then((b) => b.stop(), () => undefined);
    throw err;
  }
}

/**
 * The supervisor in this process on the grid's configuration (with
 * overrides), approved by the grid admin once it registered; resolves when it
 * claims. Log level from $GL_TEST_LOG (default warn).
 */
export async function startGridSupervisor(grid: Grid, overrides?: (c: Record<string, any>) => void, approveTimeoutMs = 60_000, logger?: Logger): Promise<Supervisor> {
  const sup = await startSupervisor(grid.config(overrides), { logger: logger ?? pino({ level: process.env.GL_TEST_LOG ?? 'warn' }), env: {} });
  try {
    await grid.approveWhenRegistered(approveTimeoutMs);
    await sup.joined;
    return sup;
  } catch (err) {
    await sup.stop();
    throw err;
  }
}
