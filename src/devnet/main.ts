// main.ts - `npm run devnet`: the whole system on this machine.
//
// As far as the project has come: a real SLURM cluster (munge, slurmctld,
// slurmd) with jobcomp/provider and spank/provider loaded; the relay embedded
// in both daemons sends every job event, munge-authenticated, to the
// reporter's ingest endpoint, and each event is printed as the reporter
// stores it. Beside it a local chain (anvil) with the Meta-Scheduler
// contracts deployed and the devnet oracle. The supervisor is not there yet.
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

import { Command } from 'commander';
import { destination, pino } from 'pino';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { startCluster, type Cluster } from '../cluster/index.js';
import { createMetaSchedulerClient } from '../metascheduler/client.js';
import { packageRoot } from '../native/addon.js';
import { eventKindName } from '../native/event.js';
import { resolveIngestConfig, startIngestServer, type IngestServer, type StoredRecord } from '../reporter/ingest/index.js';
import { startAnvil, type Anvil } from './anvil.js';
import { deployMetaScheduler } from './deploy.js';
import { startOracle, type Oracle } from './oracle.js';

const log = pino({ name: 'devnet' }, destination(2));

interface Options {
  once: boolean;
  interval: number;
  chain: boolean;
}

async function main(opts: Options): Promise<void> {
  const pluginDir = join(packageRoot, 'build-plugins');
  for (const f of [join(pluginDir, 'jobcomp_provider.so'), join(pluginDir, 'spank_provider.so'), join(pluginDir, 'gridlink_runtime.so'), join(packageRoot, 'dist', 'relay', 'embedded.cjs')])
    if (!existsSync(f)) throw new Error(`${f} missing: run \`bash scripts/setup.sh\` first`);

  let anvil: Anvil | undefined;
  let oracle: Oracle | undefined;
  let cluster: Cluster | undefined;
  let ingest: IngestServer | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('stopping');
    await oracle?.stop().catch(() => {});
    await cluster?.stop().catch((e) => log.error({ err: e }, 'cluster stop failed'));
    await ingest?.stop().catch(() => {});
    await anvil?.stop().catch(() => {});
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

  try {
    if (opts.chain) {
      anvil = await startAnvil();
      const [admin, oracleAcct, provider, customer] = anvil.accounts;
      const addresses = await deployMetaScheduler({
        rpcUrl: anvil.rpcUrl,
        adminKey: admin!.privateKey,
        oracleAddress: oracleAcct!.address,
        customers: [{ address: customer!.address, amount: 1_000_000n * 10n ** 18n }],
      });
      const transport = http(anvil.rpcUrl);
      const publicClient = createPublicClient({ chain: foundry, transport });
      const walletClient = createWalletClient({ chain: foundry, transport, account: privateKeyToAccount(oracleAcct!.privateKey) });
      const client = await createMetaSchedulerClient({ publicClient, walletClient, address: addresses.metaScheduler });
      oracle = startOracle({ client, logger: log.child({ name: 'oracle' }) });
      log.info({ rpcUrl: anvil.rpcUrl, ...addresses, provider: provider!.address, customer: customer!.address }, 'chain up: Meta-Scheduler deployed, oracle running');
    }

    // Fresh spools and reporter store per run, on disk like real ones.
    const state = mkdtempSync('/var/tmp/gridlink-devnet-');
    const ctldSpool = join(state, 'slurmctld');
    const nodeSpool = join(state, 'slurmd');
    ingest = await startIngestServer(resolveIngestConfig({ listen: { host: '127.0.0.1', port: 0 }, storeDir: join(state, 'reporter'), allowedUids: [0] }), {
      logger: log.child({ name: 'reporter' }),
    });
    log.info({ url: ingest.url, store: join(state, 'reporter') }, 'reporter ingest up (munge-authenticated)');
    const relay = (daemon: string) => [`reporter=${ingest!.url}`, `log=${join(state, `relay-${daemon}.log`)}`];
    cluster = await startCluster({
      extraPluginDirs: [pluginDir],
      jobComp: { type: 'jobcomp/provider', loc: [`spool=${ctldSpool}`, ...relay('slurmctld')].join(',') },
      spank: [{ path: join(pluginDir, 'spank_provider.so'), args: [`spool=${nodeSpool}`, ...relay('slurmd')] }],
      logger: log.child({ name: 'cluster' }),
    });
    log.info(
      { SLURM_CONF: cluster.confPath, node: cluster.nodeName, startupMs: cluster.startupMs, ctldSpool, nodeSpool },
      'cluster up: plugins and embedded relays loaded (try: SLURM_CONF=... sbatch --wrap hostname; gridlink spool stat SPOOL)',
    );

    // Print each record as the reporter stores it.
    const seen = new Map<number, Set<string>>();
    let cursor = 0; // id of the last record printed
    const print = (r: StoredRecord) => {
      process.stdout.write(`${JSON.stringify({ kindName: eventKindName[r.event.kind], host: r.host, daemon: r.daemon, receivedAt: r.receivedAt, ...r.event })}\n`);
      const s = seen.get(r.event.jobId) ?? new Set<string>();
      s.add(eventKindName[r.event.kind] ?? '?');
      seen.set(r.event.jobId, s);
    };
    const poll = async () => {
      for (;;) {
        const page = ingest!.store.eventsAfter(cursor, 1000);
        for (const { id, record } of page) {
          print(record);
          cursor = id;
        }
        if (page.length < 1000) return;
      }
    };

    const submit = async (n: number) => {
      const id = await cluster!.sbatch([`--job-name=devnet-demo-${n}`, '--comment=submitted by npm run devnet'], 'echo "hello from $(hostname)"; sleep 2');
      log.info({ jobId: id }, 'demo job submitted');
      return id;
    };

    if (opts.once) {
      const id = await submit(1);
      const deadline = Date.now() + 60_000;
      while (!(seen.get(id)?.has('job_started') && seen.get(id)?.has('job_completed'))) {
        if (Date.now() > deadline)
          throw new Error(`the reporter did not get the prolog and completion events of job ${id} within 60 s: see ${cluster.logs.ctld}, ${cluster.logs.slurmd} and ${state}/relay-*.log`);
        await poll();
        await new Promise((r) => setTimeout(r, 200));
      }
      await poll();
      log.info({ jobId: id }, 'events flowed: shim -> spool -> embedded relay -> reporter, for the job start on its node and its completion');
      await stop();
      return;
    }

    let n = 0;
    const timer = setInterval(() => void submit(++n).catch((e) => log.error({ err: e }, 'submit failed')), opts.interval * 1000);
    timer.unref();
    await submit(++n);
    for (;;) {
      await poll();
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

const program = new Command('devnet')
  .description('start the whole gridlink system on this machine (Ctrl-C stops it)')
  .option('--once', 'submit one demo job, wait for its events, stop everything and exit', false)
  .option('--interval <seconds>', 'seconds between demo jobs', (v) => Number.parseInt(v, 10), 15)
  .option('--no-chain', 'do not start anvil and the Meta-Scheduler contracts')
  .action(async (opts: Options) => main(opts));

program.parseAsync(process.argv).catch((err: Error) => {
  log.error({ err }, err.message);
  process.exitCode = 1;
});
