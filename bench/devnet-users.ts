// devnet-users.ts - `npm run bench -- devnet-users`: on the devnet (users.resolver
// "gridlink", its default), how long a new customer takes to be known on the
// controller and every node. For each of N new customers (fresh keys, funded
// and approved, one job each, one after another): from the instant the
// supervisor hands the customer its uid (at the claim: gridlink_users.created_at)
// to the version holding it written, to every host of users.gridlink.sync.hosts
// holding a copy of that version (the files the relays embedded in slurmctld and
// each slurmd install), to each host's relay reporting it (the supervisor's
// /metrics, gridlink_users_db_host_version, when it exports it) and to glibc
// answering getpwnam for it inside each daemon's own mount namespace (a
// long-running process there, as slurmd is: native/nss/nss_gridlink_test).
// Also the chain's share: the job requested -> the uid handed out. p50, p90,
// max. Uses the devnet of $GRIDLINK_DEVNET_DIR when one is up, else starts one
// and stops it at the end. BENCH_DEVNET_CUSTOMERS (default 10).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import Database from 'better-sqlite3';
import { createPublicClient, createWalletClient, http, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

import { approveCredits } from '../harness/devnet/deploy.js';
import { enterNamespace } from '../harness/devnet/identity.js';
import { defaultDevnetDir, readState, statePath, type DevnetState } from '../harness/devnet/state.js';
import { buildNss } from '../harness/nss/namespace.js';
import { createCustomerContext } from '../src/customer/context.js';
import { devnetCustomer } from '../src/customer/devnet.js';
import { submit } from '../src/customer/submit.js';
import { creditAbi } from '../src/metascheduler/abi.generated.js';
import { packageRoot } from '../src/native/index.js';
import { usersDbVersionOf } from '../src/userdb/format.js';
import { mergeResults, printTable, type Row } from './results.js';

const CUSTOMERS = Number(process.env.BENCH_DEVNET_CUSTOMERS ?? 10);
const TIMEOUT_MS = 120_000;

/** `harness/devnet/main.ts ARGS` to its end; its output on failure. */
function devnetCommand(args: string[]): Promise<void> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(packageRoot, 'harness', 'devnet', 'main.ts'), ...args], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((res, rej) => p.on('close', (code) => (code === 0 ? res() : rej(new Error(`devnet ${args.join(' ')}: exit ${code}\n${out.slice(-3000)}`)))));
}

/** glibc in a daemon's mount namespace: one long-running query program (as slurmd is long-running). */
interface Querier {
  ask(line: string): Promise<string>;
  child: ChildProcess;
}
function querier(pid: number): Querier {
  const argv = [...enterNamespace(pid), join(buildNss(), 'nss_gridlink_test')];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: Array<(l: string) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => waiting.shift()?.(l));
  return { child, ask: (line) => new Promise((res) => (waiting.push(res), child.stdin!.write(`${line}\n`))) };
}

/** The supervisor's /metrics: the users database version each host's relay last reported (empty when it does not export them). */
async function reported(metricsUrl: string | undefined): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  if (!metricsUrl) return m;
  try {
    const text = await (await fetch(metricsUrl)).text();
    for (const [, host, v] of text.matchAll(/^gridlink_users_db_host_version\{host="([^"]+)"[^}]*\} (\d+)$/gm)) m.set(host!, Number(v));
  } catch {
    // not up: nothing reported
  }
  return m;
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

export async function runDevnetUsersBench(): Promise<void> {
  const dir = defaultDevnetDir();
  let state = readState(statePath(dir));
  const started = state?.phase !== 'up';
  if (started) {
    process.stdout.write(`devnet-users: starting a devnet in ${dir} ...\n`);
    await devnetCommand(['--job-timeout', '180']);
    state = readState(statePath(dir));
  }
  const s = state!;
  try {
    if (s.users?.resolver !== 'gridlink') throw new Error(`devnet-users: the devnet in ${dir} runs users.resolver ${s.users?.resolver ?? 'ldap'}, not gridlink`);
    const u = s.users;
    const daemons = s.processes.filter((p) => p.name === 'slurmctld' || p.name.startsWith('slurmd '));
    const queriers = new Map(daemons.map((d) => [d.name, querier(d.pid)]));
    const admin = s.accounts!.find((a) => a.role.startsWith('admin'))!;
    const contracts = s.chain!.contracts as Record<string, Address>;
    const transport = http(s.chain!.rpcUrl);
    const pub = createPublicClient({ chain: foundry, transport, pollingInterval: 50 });
    const adminWallet = createWalletClient({ account: privateKeyToAccount(admin.privateKey as Hex), chain: foundry, transport });
    const db = new Database(s.supervisor!.db, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 2000');
    const row = db.prepare<[string], { created_at: number; db_version: number | null }>('SELECT created_at, db_version FROM gridlink_users WHERE name = ?');
    const samples: Array<Record<string, number>> = [];
    /** How long each polling round took: the figures' resolution. */
    const periods: number[] = [];
    try {
      for (let i = 0; i < CUSTOMERS; i++) {
        const key = generatePrivateKey();
        const name = privateKeyToAccount(key).address.toLowerCase();
        await pub.request({ method: 'anvil_setBalance' as never, params: [name, '0x56bc75e2d63100000'] as never });
        await pub.waitForTransactionReceipt({ hash: await adminWallet.writeContract({ address: contracts.credit!, abi: creditAbi, functionName: 'mint', args: [name as Address, 1000n * 10n ** 18n] }) });
        await approveCredits(s.chain!.rpcUrl, key, { credit: contracts.credit!, metaScheduler: contracts.metaScheduler! });
        const ctx = await createCustomerContext({ ...devnetCustomer(s), privateKey: key });
        await submit(ctx, { script: '#!/bin/sh\ntrue\n', name: `users bench ${i}` });
        const requested = Date.now();
        // Poll: the row, its version, each host's copy, each report, each daemon's glibc.
        const t: Record<string, number> = {};
        let alloc: number | undefined;
        let version: number | undefined;
        let nextScrape = 0;
        const end = Date.now() + TIMEOUT_MS;
        const done = () => version !== undefined && Object.keys(u.copies).every((h) => t[`copy ${h}`] && (nextScrape < 0 || t[`report ${h}`])) && daemons.every((d) => t[`getpwnam ${d.name}`]);
        while (!done()) {
          if (Date.now() > end) throw new Error(`devnet-users: customer ${name} not known everywhere within ${TIMEOUT_MS / 1000} s: ${JSON.stringify(t)}`);
          const now = Date.now();
          const r = row.get(name);
          if (r && alloc === undefined) alloc = r.created_at;
          if (r?.db_version != null && version === undefined) {
            version = r.db_version;
            t.written = now;
          }
          if (version !== undefined) {
            for (const [h, f] of Object.entries(u.copies)) {
              if (t[`copy ${h}`]) continue;
              let v: number | undefined;
              try {
                v = usersDbVersionOf(readFileSync(f));
              } catch {
                v = undefined;
              }
              if (v !== undefined && v >= version) t[`copy ${h}`] = now;
            }
          }
          // The reports and each daemon's glibc, side by side: one sampling period for all.
          const asks: Array<Promise<void>> = [];
          if (version !== undefined && nextScrape >= 0 && now >= nextScrape)
            asks.push(
              reported(s.supervisor!.metricsUrl).then((rep) => {
                if (rep.size === 0) nextScrape = -1; // not exported by this supervisor
                else {
                  nextScrape = now + 20;
                  const at = Date.now();
                  for (const h of Object.keys(u.copies)) if (!t[`report ${h}`] && (rep.get(h) ?? 0) >= version!) t[`report ${h}`] = at;
                }
              }),
            );
          if (alloc !== undefined)
            for (const d of daemons)
              if (!t[`getpwnam ${d.name}`])
                asks.push(
                  queriers
                    .get(d.name)!
                    .ask(`pwnam ${name}`)
                    .then((a) => {
                      if (a.startsWith(`${name}:`)) t[`getpwnam ${d.name}`] = Date.now();
                    }),
                );
          await Promise.all(asks);
          if (alloc !== undefined) periods.push(Date.now() - now + 5);
          await new Promise((res) => setTimeout(res, 5));
        }
        const sample: Record<string, number> = { 'requested -> uid': alloc! - requested, 'uid -> written': t.written! - alloc! };
        const since = (prefix: string) => Math.max(...Object.entries(t).filter(([k]) => k.startsWith(prefix)).map(([, v]) => v)) - alloc!;
        sample['uid -> every host holds it'] = since('copy ');
        if (nextScrape >= 0) sample['uid -> every host reported it'] = since('report ');
        sample['uid -> getpwnam answers on every host'] = since('getpwnam ');
        samples.push(sample);
        process.stdout.write(`  customer ${i + 1}/${CUSTOMERS} ${name}: ${Object.entries(sample).map(([k, v]) => `${k} ${v} ms`).join(', ')}\n`);
      }
    } finally {
      db.close();
      for (const q of queriers.values()) q.child.kill();
    }
    const rows: Row[] = Object.keys(samples[0]!).map((k) => {
      const xs = samples.map((x) => x[k]!);
      return { from: k, customers: xs.length, 'p50 ms': pct(xs, 50), 'p90 ms': pct(xs, 90), 'max ms': Math.max(...xs) };
    });
    printTable(
      `devnet-users: a new customer on the devnet (users.resolver "gridlink"; hosts ${Object.keys(u.copies).join(', ')}; ${CUSTOMERS} customers one after another; once the uid is handed out, polled every ${pct(periods, 50)} ms (p50; p90 ${pct(periods, 90)} ms): the figures' resolution)`,
      rows,
    );
    const slug = (k: string) => k.replace(/[^a-z]+/g, '_').replace(/^_|_$/g, '');
    mergeResults(Object.fromEntries(rows.flatMap((r) => [[`devnet_users_${slug(String(r.from))}_p50_ms`, r['p50 ms'] as number], [`devnet_users_${slug(String(r.from))}_p90_ms`, r['p90 ms'] as number]])));
  } finally {
    if (started) await devnetCommand(['down']);
  }
}
