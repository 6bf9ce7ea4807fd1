// main.ts - `npm run devnet`: the whole grid on this machine, in the
// background. A detached daemon (owner.ts) starts munged, a 2-node SLURM
// cluster with both plugins and their embedded relays, anvil with the
// Meta-Scheduler contracts, the devnet oracle, the sbatch service and the
// supervisor (reporter included; a process of its own, `gridlink supervisor
// run`) with users.resolver "gridlink": no directory server, the daemon and
// what it starts in a mount namespace whose NSS asks gridlink's module
// (identity.ts); `--directory ldap`: a private 389ds with this host's SSSD. This
// command follows the start, runs one customer job on chain to FINISHED and
// paid, prints where everything is and exits with the devnet still up.
// `--foreground` keeps it attached (Ctrl-C stops it); `npm run devnet:down`
// (`main.ts down`) stops it; `main.ts supervisor stop|start|restart` the
// supervisor alone.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

import { Command, Option } from 'commander';
import { destination, pino } from 'pino';

import { packageRoot } from '../../src/native/addon.js';
import { stopDevnet } from './down.js';
import { DIRECTORIES, devnetNamespace, enterNamespace, type DevnetDirectory } from './identity.js';
import { sameProcess } from './procs.js';
import { runDaemon, startOwner } from './owner.js';
import { defaultDevnetDir, lockOwner, logDir, readState, statePath, takeLock, type DevnetState } from './state.js';
import { supervisorCtl, type SupervisorAction } from './supervisor-ctl.js';
import { SUPERVISOR_NAME, operatorCommand } from './supervisor-process.js';
import { runDemoJob } from './watch.js';

const out = (s = '') => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);
const since = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

function alreadyRunning(dir: string): boolean {
  const owner = lockOwner(dir);
  if (!owner || owner.pid === process.pid) return false;
  const s = readState(statePath(dir));
  err(`A devnet is already running (pid ${owner.pid}${s ? `, started ${s.startedAt}, ${s.phase}` : ''}; state ${statePath(dir)}).`);
  err('  see it:   npm run gridlink -- status');
  err('  stop it:  npm run devnet:down');
  return true;
}

/** Where everything is, for a person. */
export function describe(s: DevnetState): string {
  const lines: string[] = [];
  const row = (k: string, v: string) => lines.push(`  ${k.padEnd(11)} ${v}`);
  const c = s.chain!;
  row('chain', `${c.rpcUrl}  (ws ${c.wsUrl}, chain id ${c.chainId}, a block every ${c.blockTimeS} s)`);
  const names = Object.keys(c.contracts);
  names.forEach((n, i) => row(i === 0 ? 'contracts' : '', `${n.padEnd(18)} ${c.contracts[n]}`));
  (s.accounts ?? []).forEach((a, i) => row(i === 0 ? 'accounts' : '', `${a.role.padEnd(30)} ${a.address}  key ${a.privateKey}`));
  row('SLURM', `export SLURM_CONF=${s.slurm!.conf}   (partition ${s.slurm!.partition}, nodes ${s.slurm!.nodes.join(', ')})`);
  const u = s.users;
  if (u?.resolver === 'gridlink') {
    const enter = enterNamespace(u.namespacePid).join(' ');
    row('users', `no directory server: users.resolver "gridlink", uids handed out by the supervisor, homes (0700) in ${u.homeRoot}`);
    row('', `users database ${u.db} (${u.dbInNamespace} in the devnet's mount namespace, whose nsswitch.conf is "files gridlink")`);
    const copies = Object.entries(u.copies);
    copies.forEach(([h, f], i) => row('', `${i === 0 ? 'pulled by' : '         '} ${h.padEnd(18)} ${f}`));
    row('', `look a customer up: ${enter} id 0x<address>   (or getent passwd 0x<address>)`);
    row('', `every customer:     npm run gridlink -- users list --store ${s.supervisor!.storeDir}`);
  } else if (s.ldap) row('directory', `${s.ldap.url} (StartTLS, CA ${s.ldap.caFile}), users in ${s.ldap.usersDn}, homes in ${s.ldap.homeRoot}`);
  row('sbatch', s.sbatch!.address);
  const sup = s.processes.find((p) => p.name === SUPERVISOR_NAME);
  row('supervisor', `pid ${sup?.pid ?? '?'}, provider ${s.supervisor!.provider}, ingest ${s.supervisor!.ingestUrl}, state ${s.supervisor!.db}`);
  const inNs = u?.resolver === 'gridlink' ? `${enterNamespace(u.namespacePid).join(' ')} ` : '';
  row('', `config ${s.supervisor!.config}  (${inNs}gridlink doctor --config ${s.supervisor!.config} --slurm-conf ${s.slurm!.conf})`);
  if (s.supervisor!.metricsUrl) row('', `metrics ${s.supervisor!.metricsUrl}  (Prometheus; a dashboard: contrib/grafana/gridlink.json)`);
  row('', 'its own process: `npm run devnet -- supervisor stop|start|restart` leaves the rest up');
  row('', `(by hand, in the foreground, once stopped: ${inNs}${operatorCommand(s.supervisor!.config)})`);
  const logs = Object.entries(s.logs);
  logs.forEach(([k, v], i) => row(i === 0 ? 'logs' : '', `${k.padEnd(18)} ${v}`));
  row('state', statePath(s.dir));
  return lines.join('\n');
}

function failed(dir: string, what: string): void {
  const s = readState(statePath(dir));
  err('');
  err(`devnet: ${what}`);
  err(`  log: ${s?.logs.devnet ?? join(logDir(dir), 'devnet.log')}${s?.logs.supervisor ? ` (and ${logDir(dir)}/)` : ''}`);
  err('  Everything it started is stopped; `npm run devnet:down` removes the logs.');
}

async function up(o: { foreground: boolean; jobTimeout: number; directory: DevnetDirectory }): Promise<number> {
  const dir = defaultDevnetDir();
  if (alreadyRunning(dir)) return 1;
  if (existsSync(dir)) await stopDevnet(dir); // a devnet that died: its leftovers go first
  if (!takeLock(dir)) {
    alreadyRunning(dir);
    return 1;
  }
  mkdirSync(logDir(dir), { recursive: true });
  const t0 = Date.now();
  out(`Starting the gridlink devnet${o.foreground ? '' : ' in the background'} (state in ${dir}; customers' users: ${o.directory === 'gridlink' ? 'gridlink, no directory server' : 'LDAP, a private 389ds and this host\'s SSSD'}) ...`);

  let interrupted = false;
  /** Everything stopped and removed (Ctrl-C). */
  let stopAll: () => Promise<void> = async () => undefined;
  /** Everything stopped, the logs kept (a failure). */
  let stopKeep: () => Promise<void> = async () => undefined;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    err('\nInterrupted: stopping everything the devnet started ...');
    void stopAll().then(() => {
      err('Stopped.');
      process.exit(130);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  let state: DevnetState;
  if (o.foreground && o.directory === 'ldap') {
    // In this process. With gridlink the owner must run in the devnet's namespace: the daemon below, attached.
    const log = pino({ name: 'devnet', level: 'info' }, destination({ dest: join(logDir(dir), 'devnet.log'), mkdir: true }));
    const owner = startOwner(dir, { log, directory: o.directory, onStep: (t) => out(`  ${since(t0).padStart(7)}  ${t}`) });
    stopAll = async () => {
      await owner.stop();
      await stopDevnet(dir);
    };
    stopKeep = async () => {
      await owner.stop();
      await stopDevnet(dir, { keepFiles: true });
    };
    try {
      state = await owner.up;
    } catch (e) {
      if (interrupted) return new Promise(() => undefined);
      failed(dir, `the start failed: ${(e as Error).message}`);
      await owner.stop();
      return 1;
    }
  } else {
    const logFile = join(logDir(dir), 'devnet.log');
    const fd = openSync(logFile, 'a', 0o600);
    const daemon = [process.execPath, '--import', 'tsx', join(packageRoot, 'harness', 'devnet', 'main.ts'), '__daemon', dir, o.directory];
    let argv = daemon;
    try {
      if (o.directory === 'gridlink') argv = devnetNamespace(dir, daemon);
    } catch (e) {
      await stopDevnet(dir, { keepFiles: true });
      failed(dir, `the NSS module could not be built (native/nss, cmake): ${(e as Error).message.split('\n')[0]}`);
      return 1;
    }
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, {
      cwd: packageRoot,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    });
    child.unref();
    stopAll = async () => void (await stopDevnet(dir));
    stopKeep = async () => void (await stopDevnet(dir, { keepFiles: true }));
    let printed = 0;
    for (;;) {
      if (interrupted) return new Promise(() => undefined);
      const s = readState(statePath(dir));
      for (const st of s?.steps.slice(printed) ?? []) out(`  ${`${st.at.toFixed(1)} s`.padStart(7)}  ${st.text}`);
      printed = s?.steps.length ?? printed;
      if (s?.phase === 'up') {
        state = s;
        break;
      }
      const daemonAlive = s ? sameProcess(s.daemon) : child.exitCode === null;
      if (s?.phase === 'failed' || !daemonAlive) {
        if (daemonAlive) await new Promise((r) => setTimeout(r, 200));
        await stopDevnet(dir, { keepFiles: true });
        failed(dir, `the start failed: ${s?.error ?? `the devnet daemon exited (code ${child.exitCode ?? '?'})`}`);
        return 1;
      }
      if (Date.now() - t0 > 300_000) {
        await stopDevnet(dir, { keepFiles: true });
        failed(dir, 'the start did not finish within 5 minutes');
        return 1;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  out(`Up in ${since(t0)}. A customer job on chain, as it happens:`);
  let result;
  try {
    result = await runDemoJob(state, (l) => out(`  ${l}`), o.jobTimeout * 1000);
  } catch (e) {
    if (interrupted) return new Promise(() => undefined);
    await stopKeep().catch(() => undefined);
    failed(dir, `the demo job could not be run: ${(e as Error).message.split('\n')[0]}`);
    return 1;
  }
  if (interrupted) return new Promise(() => undefined);
  if (!result.ok) {
    await stopKeep().catch(() => undefined);
    failed(dir, `the demo job ${result.jobId} ended ${result.status}, not FINISHED (see supervisor.log)`);
    return 1;
  }
  out('');
  out(`The devnet is up${o.foreground ? '' : ' and keeps running in the background'}:`);
  out(describe(state));
  out('');
  out('Try:');
  out(`  SLURM_CONF=${state.slurm!.conf} sinfo`);
  out('  npm run gridlink -- status          # the stack and every grid job');
  out('  npm run gridlink -- job submit SCRIPT --follow # your own job (README: Submit your own job)');
  out('  npm run devnet -- supervisor restart # the supervisor alone (stop, start too); the rest stays up');
  if (o.foreground) {
    out('Ctrl-C stops everything.');
    // Attached until a signal (with gridlink the stack lives in the detached daemon: nothing here keeps node alive).
    setInterval(() => undefined, 1 << 30);
    return new Promise(() => undefined);
  }
  out('Stop everything: npm run devnet:down');
  return 0;
}

async function down(): Promise<number> {
  const dir = defaultDevnetDir();
  const had = existsSync(dir);
  const r = await stopDevnet(dir);
  if (!had && r.stopped.length === 0) {
    out(`No devnet here (${dir}): nothing to stop.`);
    return 0;
  }
  out(r.stopped.length > 0 ? `Stopped: ${r.stopped.map((p) => `${p.name} (pid ${p.pid})`).join(', ')}.` : 'No devnet process was running.');
  if (r.locks.length > 0) out(`Removed the lock files its processes left: ${r.locks.join(', ')}.`);
  if (r.removed) out(`Removed ${dir}.`);
  return 0;
}

const program = new Command('devnet').description('the whole gridlink grid on this machine, in the background');
program
  .option('--foreground', 'stay attached; Ctrl-C stops everything', false)
  .option('--job-timeout <seconds>', 'how long the demo job may take', (v) => Number.parseInt(v, 10), 180)
  .addOption(
    new Option('--directory <kind>', 'who the customers are: gridlink (users handed out by the supervisor, resolved through gridlink\'s NSS module in a mount namespace; no directory server) or ldap (a private 389ds and this host\'s SSSD)')
      .choices(DIRECTORIES)
      .default('gridlink'),
  )
  .action(async (opts: { foreground: boolean; jobTimeout: number; directory: DevnetDirectory }) => {
    process.exitCode = await up(opts);
  });
program.command('down').description('stop every process of the devnet and remove its files (idempotent)').action(async () => {
  process.exitCode = await down();
});
program
  .command('supervisor <action>')
  .description('stop, start or restart the running devnet\'s supervisor alone (action: stop, start or restart); the rest of the devnet stays up')
  .action(async (action: string) => {
    if (!['stop', 'start', 'restart'].includes(action)) {
      err(`devnet supervisor: unknown action ${JSON.stringify(action)}: stop, start or restart`);
      process.exitCode = 2;
      return;
    }
    process.exitCode = await supervisorCtl(defaultDevnetDir(), action as SupervisorAction, out, err);
  });
program.command('__daemon <dir> <directory>', { hidden: true }).action(async (dir: string, directory: DevnetDirectory) => {
  await runDaemon(dir, directory);
});

program.parseAsync(process.argv).catch((e: Error) => {
  err(`devnet: ${e.message}`);
  process.exitCode = 1;
});
