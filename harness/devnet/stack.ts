// stack.ts - the whole grid on this machine, as one object: a 2-node SLURM
// cluster (munged, slurmctld, two slurmd) with both plugins and their
// embedded relays, anvil (1-s blocks) with the Meta-Scheduler contracts, the
// devnet oracle, the sbatch service (its own process) and the supervisor (the
// reporter included; its own process, see supervisor-process.ts) handing out
// customers' Linux users: users.resolver "gridlink" (the relays pull the users
// database; identity.ts) or, with directory "ldap", "ldap" on a private 389ds
// with the host's SSSD. The provider registers and the grid admin approves
// it; the dev customer has credits and has approved the contract.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

import { destination, pino, type Logger } from 'pino';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { clusterLockPath, clusterPaths, startCluster, type Cluster } from '../cluster/index.js';
import { descendants, isAlive } from '../../src/util/proc.js';
import { start389ds, startSssd, type DirectoryServer, type Sssd } from '../directory/index.js';
import { ldapConfigSchema } from '../../src/ldap/index.js';
import { createMetaSchedulerClient } from '../../src/metascheduler/client.js';
import { parseSupervisorConfig } from '../../src/supervisor/config.js';
import { startAnvil, type Anvil } from './anvil.js';
import { approveWhenRegistered } from './approve.js';
import { ensureBuilt, pluginDir } from './build.js';
import { ctldWrapper, hostDbDir, slurmdWrapper, supervisorDbDir, type DevnetDirectory } from './identity.js';
import { NSS_DB_DIR } from '../nss/namespace.js';
import { approveCredits, deployMetaScheduler } from './deploy.js';
import { startOracle, type Oracle } from './oracle.js';
import { procRef, type ProcRef } from './procs.js';
import { freePort, startSbatchProcess, type SbatchProcess } from './sbatch-process.js';
import { logDir, readState, statePath, type DevnetState } from './state.js';
import { spawnSupervisor, stopSupervisor, waitSupervisorReady, type SupervisorProcess } from './supervisor-process.js';

export const CREDIT = 10n ** 18n;
/** Per minute, in credits: 1 per CPU, 2 per GPU. */
export const PRICES = { cpuPerMin: '1', memPerMin: '0', gpuPerMin: '2' };
const BLOCK_TIME_S = 1;

export interface Stack {
  /** What the state file describes (everything but phase, steps, daemon). */
  info: Required<Pick<DevnetState, 'chain' | 'accounts' | 'slurm' | 'sbatch' | 'supervisor' | 'users'>> & Pick<DevnetState, 'ldap'> & { logs: Record<string, string> };
  processes(): ProcRef[];
  stop(): Promise<void>;
}

export interface StackOptions {
  dir: string;
  /**
   * gridlink: users.resolver "gridlink"; this process runs in the devnet's NSS
   * namespace (identity.ts devnetNamespace). ldap: 389ds and SSSD.
   */
  directory: DevnetDirectory;
  /** A start step done (readable text) and every process started so far. */
  step(text: string, processes: ProcRef[]): void;
  log: Logger;
  /** Aborted: the start stops at its next step and undoes what it did. */
  signal?: AbortSignal;
}

const fileLogger = (file: string, level = 'info'): Logger => pino({ level }, destination({ dest: file, sync: false, mkdir: true }));

/** The PID of a live process holding the machine's SLURM cluster lock. */
function clusterLockHolder(): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(clusterLockPath(), 'utf8')) as { pid?: number }).pid;
    return pid !== undefined && pid !== process.pid && isAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function startStack(o: StackOptions): Promise<Stack> {
  const { dir, log } = o;
  const step = (text: string) => {
    o.step(text, currentProcesses());
    if (o.signal?.aborted) throw new Error('start interrupted');
  };
  const logs = logDir(dir);
  mkdirSync(logs, { recursive: true, mode: 0o755 });
  const L = {
    devnet: join(logs, 'devnet.log'),
    supervisor: join(logs, 'supervisor.log'),
    oracle: join(logs, 'oracle.log'),
    sbatchService: join(logs, 'sbatch-service.log'),
    relaySlurmctld: join(logs, 'relay-slurmctld.log'),
    relaySlurmd: join(logs, 'relay-slurmd.log'),
  };
  const stops: Array<{ name: string; stop: () => Promise<void> | void }> = [];
  const stop = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log.error({ err }, `stopping ${s.name} failed`);
      }
    }
  };

  let anvil: Anvil | undefined;
  let cluster: Cluster | undefined;
  let ldapDir: DirectoryServer | undefined;
  let sssd: Sssd | undefined;
  let sbatch: SbatchProcess | undefined;
  let oracle: Oracle | undefined;
  let sup: SupervisorProcess | undefined;
  try {
    ensureBuilt(() => step('bundling the embedded relay (src/ is newer than dist/relay/embedded.cjs) ...'));
    const ingestPort = await freePort();
    const homeRoot = join(dir, 'homes');
    mkdirSync(homeRoot, { recursive: true, mode: 0o755 });
    const ingestUrl = `http://127.0.0.1:${ingestPort}`;
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;

    const usersPort = await freePort();
    const gridlink = o.directory === 'gridlink';
    const directory = async () => {
      if (gridlink) return;
      ldapDir = await start389ds();
      stops.push({ name: '389ds', stop: () => ldapDir!.stop() });
      step(`389ds directory up at ${ldapDir.url}`);
      sssd = await startSssd({ domains: [ldapDir] });
      stops.push({ name: 'sssd', stop: () => sssd!.stop() });
      step('SSSD serves the directory to this host\'s NSS');
    };
    const slurm = async () => {
      // With gridlink, each relay also pulls the users database into its daemon's NSS_DB_DIR (the default users_db).
      const relay = (file: string) => [`reporter=${ingestUrl}`, `log=${file}`, 'poll_ms=200', 'backoff_max_ms=2000', ...(gridlink ? [`users_url=http://127.0.0.1:${usersPort}`] : [])];
      mkdirSync(join(dir, 'slurm'), { recursive: true, mode: 0o755 });
      const holder = clusterLockHolder();
      if (holder) step(`waiting for the SLURM cluster of pid ${holder} (${clusterLockPath()}) to stop: one cluster per machine`);
      cluster = await startCluster({
        baseDir: join(dir, 'slurm'),
        nodes: 2,
        extraPluginDirs: [pluginDir],
        jobComp: { type: 'jobcomp/provider', loc: [`spool=${join(dir, 'spool', 'slurmctld')}`, ...relay(L.relaySlurmctld)].join(',') },
        spank: [{ path: join(pluginDir, 'spank_provider.so'), args: [`spool=${join(dir, 'spool', 'slurmd')}`, ...relay(L.relaySlurmd), ...(gridlink ? [`home_root=${homeRoot}`] : [])] }],
        ...(gridlink ? { ctldWrapper: ctldWrapper(dir, hostname()), slurmdWrapper: slurmdWrapper(dir, clusterPaths(join(dir, 'slurm')).plugstackConf) } : {}),
        logger: log.child({ name: 'cluster' }),
        lockWaitMs: 180_000,
      });
      stops.push({ name: 'SLURM cluster', stop: () => cluster!.stop() });
      step(`SLURM cluster up: slurmctld + ${cluster.nodeNames.join(', ')} (plugins and embedded relays loaded)`);
    };
    const chain = async () => {
      anvil = await startAnvil();
      stops.push({ name: 'anvil', stop: () => anvil!.stop() });
      step('');
      const [admin, , provider, , , customer] = anvil.accounts;
      const deployed = await deployMetaScheduler({
        rpcUrl: anvil.rpcUrl,
        adminKey: admin!.privateKey,
        oracleAddress: admin!.address,
        customers: [{ address: customer!.address, amount: 1_000_000n * CREDIT }],
      });
      const transport = http(anvil.rpcUrl);
      const publicClient = createPublicClient({ chain: foundry, transport });
await approveCredits(anvil.rpcUrl, customer!.privateKey, deployed);
      await anvil.request('evm_setAutomine', [false]);
      await anvil.request('evm_setIntervalMining', [BLOCK_TIME_S]);
      step(`anvil at ${anvil.rpcUrl}, Meta-Scheduler deployed at ${deployed.metaScheduler}`);
      const adminClient = await createMetaSchedulerClient({
        publicClient: publicClient as never,
        walletClient: createWalletClient({ account: privateKeyToAccount(admin!.privateKey), chain: foundry, transport }) as never,
        address: deployed.metaScheduler,
      });
      oracle = startOracle({ client: adminClient, pollIntervalMs: 300, logger: fileLogger(L.oracle) });
      stops.push({ name: 'oracle', stop: () => oracle!.stop() });
      sbatch = await startSbatchProcess(anvil.rpcUrl, deployed.metaScheduler, L.sbatchService);
      stops.push({ name: 'sbatch service', stop: () => sbatch!.stop() });
      step(`devnet oracle running; sbatch service at ${sbatch.address}`);
      return { deployed, admin: admin!, provider: provider!, customer: customer!, adminClient };
    };

    // The three start side by side; every one is awaited before anything is stopped.
    const results = await Promise.allSettled([directory(), slurm(), chain()]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const c = (results[2] as PromiseFulfilledResult<Awaited<ReturnType<typeof chain>>>).value;
    // The hosts as their relays name themselves: slurmctld's by the host name, each slurmd's by its node.
    const syncHosts = [hostname(), ...cluster!.nodeNames];

    const ldap = ldapDir && ldapConfigSchema.parse({
      url: ldapDir!.url,
      caFile: ldapDir!.caFile,
      bindDn: ldapDir!.bindDn,
      bindPasswordFile: ldapDir!.bindPasswordFile,
      server: ldapDir!.kind,
      usersDn: ldapDir!.usersDn,
      group: { dn: ldapDir!.group.dn, gidNumber: ldapDir!.group.gidNumber },
      homeRoot,
      uidNumbers: { min: ldapDir!.uidRange.min, max: ldapDir!.uidRange.max },
    });
    const storeDir = join(dir, 'supervisor');
    mkdirSync(storeDir, { recursive: true, mode: 0o700 });
    const keyFile = join(storeDir, 'provider.key');
    writeFileSync(keyFile, `${c.provider.privateKey}\n`, { mode: 0o600 });
    // The configuration as an operator would write it: the file `gridlink doctor --config` and
    // `gridlink supervisor run --config` read; the devnet's supervisor is started with it.
    const configInput = {
      chain: { rpcUrl: anvil!.rpcUrl, wsUrl: anvil!.wsUrl, chainId: foundry.id, metaScheduler: c.deployed.metaScheduler, keyFile, confirmations: 1, pollMs: 200, reconcile: { slurmConf: cluster!.confPath, intervalMs: 5000 } },
      ingest: { listen: { host: '127.0.0.1', port: ingestPort }, storeDir, allowedUids: [0] },
      slurm: { backend: 'local', slurmConf: cluster!.confPath, partition: cluster!.partition },
      provider: { prices: PRICES, labels: { region: 'devnet', os: 'linux' }, approvalPollMs: 300 },
      sbatch: { endpoint: sbatch!.address },
      claims: { pollMs: 200, backoffMs: 200, maxBackoffMs: 2000, uncertainGraceMs: 3000 },
      users: gridlink
        ? {
            resolver: 'gridlink',
            // dbPath: the default, NSS_DB_DIR/users.cdb, in this namespace supervisorDbDir(dir)
            gridlink: { homeRoot, sync: { listen: { host: '127.0.0.1', port: usersPort }, hosts: syncHosts, waitMs: 30_000 } },
          }
        : { resolver: 'ldap', ldap, nssWaitMs: 20_000 },
      metricsListen: { host: '127.0.0.1', port: metricsPort },
    };
    const configFile = join(storeDir, 'supervisor.json');
    writeFileSync(configFile, `${JSON.stringify(configInput, null, 2)}\n`, { mode: 0o600 });
    parseSupervisorConfig(configInput); // a mistake here is the devnet's: say so before a process starts
    sup = spawnSupervisor(configFile, L.supervisor);
    const spawned = sup;
    void spawned.exited.then((how) => log.info({ pid: spawned.ref.pid, exit: how }, `the supervisor (pid ${spawned.ref.pid}) exited (${how})`));
    // Whichever supervisor runs when the devnet stops (`npm run devnet -- supervisor restart` records a new one).
    stops.push({ name: 'supervisor', stop: async () => void (await stopSupervisor([sup!.ref, ...(readState(statePath(dir))?.processes ?? [])], configFile)) });
    step(`supervisor started (pid ${sup.ref.pid}): gridlink supervisor run --config ${configFile}`);
    await waitSupervisorReady(sup, {
      ingestUrl,
      logFile: L.supervisor,
      timeoutMs: 180_000,
      whileUp: () =>
        approveWhenRegistered({
          rpcUrl: anvil!.rpcUrl,
          providerManager: c.deployed.providerManager,
          provider: c.provider.address,
          approve: () => c.adminClient.approveProvider(c.provider.address),
          timeoutMs: 120_000,
        }),
    });
    step(`supervisor up: provider ${c.provider.address} registered and approved, claiming jobs (ingest ${ingestUrl})`);

    const cl = cluster!;
    const info: Stack['info'] = {
      chain: { rpcUrl: anvil!.rpcUrl, wsUrl: anvil!.wsUrl, chainId: foundry.id, contracts: { ...c.deployed }, blockTimeS: BLOCK_TIME_S },
      accounts: [
        { role: 'admin and oracle', address: c.admin.address, privateKey: c.admin.privateKey },
        { role: 'provider (the supervisor)', address: c.provider.address, privateKey: c.provider.privateKey },
        { role: 'customer (1,000,000 credits)', address: c.customer.address, privateKey: c.customer.privateKey },
      ],
      slurm: { conf: cl.confPath, baseDir: cl.baseDir, partition: cl.partition, nodes: [...cl.nodeNames] },
      ...(ldapDir ? { ldap: { url: ldapDir.url, suffix: ldapDir.suffix, usersDn: ldapDir.usersDn, bindDn: ldapDir.bindDn, bindPasswordFile: ldapDir.bindPasswordFile, caFile: ldapDir.caFile, homeRoot, baseDir: ldapDir.baseDir } } : {}),
      users: gridlink
        ? {
            resolver: 'gridlink',
            homeRoot,
            db: join(supervisorDbDir(dir), 'users.cdb'),
            dbInNamespace: `${NSS_DB_DIR}/users.cdb`,
            copies: Object.fromEntries(syncHosts.map((h) => [h, join(hostDbDir(dir, h), 'users.cdb')])),
            namespacePid: process.pid,
            syncUrl: `http://127.0.0.1:${usersPort}`,
          }
        : { resolver: 'ldap', homeRoot },
      sbatch: { address: sbatch!.address },
      supervisor: { storeDir, db: join(storeDir, 'gridlink.db'), ingestUrl, metricsUrl, provider: c.provider.address, config: configFile },
      logs: {
        ...L,
        slurmctld: cl.logs.ctld,
        ...Object.fromEntries(Object.entries(cl.logs.nodes).map(([n, l]) => [`slurmd ${n}`, l.slurmd])),
        ...(ldapDir ? { '389ds': ldapDir.logFile } : {}),
        ...(sssd ? { sssd: join(sssd.logDir, 'sssd.log') } : {}),
      },
    };
    return { info, processes: () => currentProcesses(), stop };
  } catch (err) {
    await stop();
    throw err;
  }

  function currentProcesses(): ProcRef[] {
    const refs: ProcRef[] = [];
    const add = (name: string, pid: number | undefined) => {
      if (pid !== undefined && pid > 0) refs.push(procRef(name, pid));
    };
    add('anvil', anvil?.pid);
    // The anvil package's bin is a node wrapper: its binary is a child, named too so that a killed wrapper leaves nothing.
    if (anvil) for (const pid of descendants([anvil.pid])) add('anvil binary', pid);
    add('sbatch-service', sbatch?.pid);
    add('slurmctld', cluster?.ctldPid());
    for (const n of cluster?.nodeNames ?? []) add(`slurmd ${n}`, cluster?.slurmdPid(n));
    add('389ds', ldapDir?.pid());
    add('sssd', sssd?.pid());
    if (sup) refs.push(sup.ref);
    return refs;
  }
}

