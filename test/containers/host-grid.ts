// host-grid.ts - the chain side of the container suites, on this host as the
// grid runs it apart from the provider: anvil (interval mining) with the
// contracts and a funded customer, the devnet oracle and the sbatch service,
// all listening on every address so that the supervisor container reaches
// them as host.docker.internal; and the supervisor's configuration directory
// (supervisor.json and the provider key) that compose.yaml mounts into the
// supervisor container only, with the example configuration's users
// (contrib/container/config/supervisor.example.json: resolver "gridlink", the
// users database served to the relays on supervisor:7391). Used under podman
// and under Docker alike.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { pino } from 'pino';
import { createPublicClient, createWalletClient, http, stringToHex, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { approveWhenRegistered } from '../../harness/devnet/approve.js';
import { approveCredits, deployMetaScheduler } from '../../harness/devnet/deploy.js';
import { startOracle } from '../../harness/devnet/oracle.js';
import { startSbatchProcess } from '../../harness/devnet/sbatch-process.js';
import { createMetaSchedulerClient, type MetaSchedulerClient } from '../../src/metascheduler/client.js';
import { JobStatus } from '../../src/metascheduler/status.js';
import type { Job } from '../../src/metascheduler/types.js';
import { packageRoot } from '../../src/native/addon.js';
import { createSbatchClient } from '../../src/sbatch/client.js';
import { parseSupervisorConfig } from '../../src/supervisor/config.js';
import { waitFor } from '../plugins/with-plugins.js';
import { CREDIT, PRICES, jobDefinition } from '../supervisor/grid.js';

/** The example configuration (contrib/container/config/): its `users` (resolver "gridlink") is what the container suites run with. */
const EXAMPLE_CONFIG = JSON.parse(readFileSync(join(packageRoot, 'contrib/container/config/supervisor.example.json'), 'utf8')) as { users: unknown };
/** The example configuration's users, as the supervisor reads them (users.gridlink.firstUid, homeRoot, sync.hosts). */
export const EXAMPLE_USERS = parseSupervisorConfig(EXAMPLE_CONFIG).users;

export interface HostGrid {
  anvil: Anvil;
  /** Read-only client of the Meta-Scheduler. */
  base: MetaSchedulerClient;
  customer: MetaSchedulerClient;
  /** The customer's address, lower case: its Linux user name in the containers. */
  customerAddress: string;
  providerAddress: Hex;
  /** supervisor.json and provider.key, for GRIDLINK_CONFIG_DIR. */
  configDir: string;
  /** Resolves once the supervisor registered the provider and the admin approved it. */
  approveProvider(supervisorLog: () => Promise<string>): Promise<void>;
  /** A customer's job for `script`; its grid job id. */
  request(script: string, ntasks?: bigint): Promise<Hex>;
  /** Waits until the job is in one of `want`; the error carries the supervisor's log. */
  waitChain(id: Hex, want: JobStatus[], supervisorLog: () => Promise<string>, timeoutMs?: number): Promise<Job>;
  stop(): Promise<void>;
}

/** Starts the chain side in `work` (a fresh directory) for a supervisor that reaches it as host.docker.internal. */
export async function startHostGrid(work: string): Promise<HostGrid> {
  const stops: Array<() => Promise<unknown> | unknown> = [];
  const stop = async () => {
    for (const s of stops.reverse()) await Promise.resolve(s()).catch(() => undefined);
  };
  try {
    const anvil = await startAnvil({ host: '0.0.0.0' });
    stops.push(() => anvil.stop());
    const [adminAcct, cust, provider] = anvil.accounts;
    const deployed = await deployMetaScheduler({
      rpcUrl: anvil.rpcUrl,
      adminKey: adminAcct!.privateKey,
      oracleAddress: adminAcct!.address,
      customers: [{ address: cust!.address, amount: 1_000n * CREDIT }],
    });
    await approveCredits(anvil.rpcUrl, cust!.privateKey, deployed);
    const transport = http(anvil.rpcUrl);
    const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 100, cacheTime: 0 }) as PublicClient;
    const base = await createMetaSchedulerClient({ publicClient: publicClient as never, address: deployed.metaScheduler });
    const admin = base.withWalletClient(createWalletClient({ account: privateKeyToAccount(adminAcct!.privateKey), chain: foundry, transport }));
    const customer = base.withWalletClient(createWalletClient({ account: privateKeyToAccount(cust!.privateKey), chain: foundry, transport }));

    const sbatch = await startSbatchProcess(anvil.rpcUrl, deployed.metaScheduler, join(work, 'sbatch-service.log'), 30_000, '0.0.0.0');
    stops.push(() => sbatch.stop());
    const uploader = createSbatchClient({ endpoint: sbatch.address });
    stops.push(() => uploader.close());
    const oracle = startOracle({ client: admin, pollIntervalMs: 300, logger: pino({ level: 'warn' }) });
    stops.push(() => oracle.stop());
    await anvil.request('evm_setAutomine', [false]);
    await anvil.request('evm_setIntervalMining', [1]);

    // The supervisor's configuration and key: the only container that has them.
    const configDir = join(work, 'config');
    mkdirSync(configDir, { mode: 0o700 });
    writeFileSync(join(configDir, 'provider.key'), `${provider!.privateKey}\n`, { mode: 0o600 });
    const sbatchPort = sbatch.address.split(':')[1];
    const config = {
      chain: { rpcUrl: `http://host.docker.internal:${anvil.port}`, chainId: foundry.id, metaScheduler: deployed.metaScheduler, keyFile: '/etc/gridlink/provider.key', confirmations: 1, pollMs: 200, reconcile: { intervalMs: 5000 } },
      ingest: { listen: { host: '0.0.0.0', port: 7390 }, storeDir: '/var/lib/gridlink', allowedUids: [0] },
      slurm: { backend: 'local', partition: 'grid' },
      provider: { prices: PRICES, labels: { region: 'containers' }, approvalPollMs: 300 },
      sbatch: { endpoint: `host.docker.internal:${sbatchPort}` },
      users: EXAMPLE_CONFIG.users,
      claims: { pollMs: 200, backoffMs: 200, maxBackoffMs: 2000 },
      metricsListen: { host: '0.0.0.0', port: 9464 },
    };
    writeFileSync(join(configDir, 'supervisor.json'), JSON.stringify(config, null, 2));
    chmodSync(configDir, 0o755);

    const providerAddress = provider!.address;
    const customerAddress = cust!.address.toLowerCase();
    return {
      anvil,
      base,
      customer,
      customerAddress,
      providerAddress,
      configDir,
      approveProvider: (supervisorLog) =>
        approveWhenRegistered({ rpcUrl: anvil.rpcUrl, providerManager: deployed.providerManager, provider: providerAddress, approve: () => admin.approveProvider(providerAddress), timeoutMs: 90_000 }).catch(async (e: Error) => {
          throw new Error(`${e.message}\nsupervisor log:\n${(await supervisorLog()).slice(-4000)}`);
        }),
      request: async (script, ntasks = 1n) => {
        const hash = await uploader.submit(script);
        return (await customer.requestNewJob(jobDefinition({ ntasks, cpusPerTask: 1n, batchLocationHash: hash }), 100n * CREDIT, stringToHex('containers', { size: 32 }), false)).jobId;
      },
      waitChain: async (id, want, supervisorLog, timeoutMs = 120_000) => {
        let last: Job | undefined;
        await waitFor(`job ${id} in ${want.map((w) => JobStatus[w]).join('/')}`, async () => want.includes((last = await base.getJob(id)).status), timeoutMs).catch(async (e: Error) => {
          throw new Error(`${e.message} (status ${last ? JobStatus[last.status] : '?'})\nsupervisor log:\n${(await supervisorLog()).slice(-4000)}`);
        });
        return last!;
      },
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
