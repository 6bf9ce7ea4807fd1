// main.ts - `npm run devnet`: the whole system on this machine.
//
// As far as the project has come: a real SLURM cluster (munge, slurmctld,
// slurmd) with jobcomp/provider and spank/provider loaded, demo jobs, and
// every job event printed as it lands in the spools; beside it a local chain
// (anvil) with the Meta-Scheduler contracts deployed and the devnet oracle.
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';

import { Command } from 'commander';
import { destination, pino } from 'pino';
import { createPublicClient, createWalletClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { startCluster, type Cluster } from '../cluster/index.js';
import { createMetaSchedulerClient } from '../metascheduler/client.js';
import { eventToJson, type JobEvent } from '../native/event.js';
import { packageRoot } from '../native/addon.js';
import { SpoolReader } from '../native/spool.js';
import { startAnvil, type Anvil } from './anvil.js';
import { deployMetaScheduler } from './deploy.js';
import { startOracle, type Oracle } from './oracle.js';

const log = pino({ name: 'devnet' }, destination(2));

interface Options {
  once: boolean;
  interval: number;
  chain: boolean;
}

/** Follows a spool without consuming it: prints each new event once. */
function follower(dir: string, print: (ev: JobEvent) => void): () => void {
  let reader: SpoolReader | undefined;
  return () => {
    if (!reader) {
      if (!existsSync(join(dir, 'spool.meta'))) return;
      reader = new SpoolReader(dir);
    }
    for (;;) {
      const { records } = reader.read(500);
      if (!records.length) return;
      for (const r of records) print(r.event);
    }
  };
}

async function main(opts: Options): Promise<void> {
  const pluginDir = join(packageRoot, 'build-plugins');
  for (const so of ['jobcomp_provider.so', 'spank_provider.so'])
    if (!existsSync(join(pluginDir, so))) throw new Error(`${join(pluginDir, so)} missing: run \`bash scripts/setup.sh\` first`);

  let anvil: Anvil | undefined;
  let oracle: Oracle | undefined;
  let cluster: Cluster | undefined;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log.info('stopping');
    await oracle?.stop().catch(() => {});
    await cluster?.stop().catch((e) => log.error({ err: e }, 'cluster stop failed'));
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

    // A fresh pair of spools per run, on disk like real ones.
    const spools = mkdtempSync('/var/tmp/gridlink-devnet-');
    const ctldSpool = join(spools, 'slurmctld');
    const nodeSpool = join(spools, 'slurmd');
    cluster = await startCluster({
      extraPluginDirs: [pluginDir],
      jobComp: { type: 'jobcomp/provider', loc: `spool=${ctldSpool}` },
      spank: [{ path: join(pluginDir, 'spank_provider.so'), args: [`spool=${nodeSpool}`] }],
      logger: log.child({ name: 'cluster' }),
    });
    log.info(
      { SLURM_CONF: cluster.confPath, node: cluster.nodeName, startupMs: cluster.startupMs, ctldSpool, nodeSpool },
      'cluster up: plugins loaded (try: SLURM_CONF=... sbatch --wrap hostname; gridlink spool dump SPOOL)',
    );

    const seen = new Map<number, Set<string>>();
    const print = (ev: JobEvent) => {
      process.stdout.write(`${JSON.stringify(eventToJson(ev))}\n`);
      const s = seen.get(ev.jobId) ?? new Set<string>();
      s.add(ev.kindName);
      seen.set(ev.jobId, s);
    };
    const follow = [follower(ctldSpool, print), follower(nodeSpool, print)];
    const poll = () => follow.forEach((f) => f());

    const submit = async (n: number) => {
      const id = await cluster!.sbatch([`--job-name=devnet-demo-${n}`, '--comment=submitted by npm run devnet'], 'echo "hello from $(hostname)"; sleep 2');
      log.info({ jobId: id }, 'demo job submitted');
      return id;
    };

    if (opts.once) {
      const id = await submit(1);
      const deadline = Date.now() + 60_000;
      while (!(seen.get(id)?.has('job_started') && seen.get(id)?.has('job_completed'))) {
        if (Date.now() > deadline) throw new Error(`no prolog and completion events for job ${id} within 60 s: see ${cluster.logs.ctld} and ${cluster.logs.slurmd}`);
        poll();
        await new Promise((r) => setTimeout(r, 200));
      }
      poll();
      log.info({ jobId: id }, 'events flowed: job started on its node and completed');
      await stop();
      return;
    }

    let n = 0;
    const timer = setInterval(() => void submit(++n).catch((e) => log.error({ err: e }, 'submit failed')), opts.interval * 1000);
    timer.unref();
    await submit(++n);
    for (;;) {
      poll();
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
