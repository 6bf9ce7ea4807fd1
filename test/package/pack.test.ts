// The npm package as a consumer sees it: `npm pack` of this checkout (dist as
// `npm run build:ts` left it), installed into an empty project with the
// consumer's own viem, a strict NodeNext TypeScript file importing
// 'gridlink' and 'gridlink/metascheduler' compiled with tsc and run against a
// fresh anvil with the contracts deployed. Nothing is written in the checkout.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startAnvil, type Anvil } from '../../harness/devnet/anvil.js';
import { deployMetaScheduler, type DeployedAddresses } from '../../harness/devnet/deploy.js';
import { skipReason } from '../helpers/skip-reason.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);
const version = (pkg: string) => (JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
const tsc = path.join(path.dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
const CREDIT = 10n ** 18n;
const prebuildDir = path.join(repo, 'prebuilds', `${process.platform}-${process.arch}`);
const hasPrebuild = existsSync(prebuildDir);

/** The environment without what `npm test` exported (npm_config_*, npm_package_*): the child npm works on the consumer only. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { cwd: opts.cwd, env: opts.env ?? cleanEnv(), timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

const consumerTs = `
import { createMetaSchedulerClient, isMetaSchedulerError, toMetaSchedulerError, MetaSchedulerError } from 'gridlink';
import { decodeRevertData, JobStatus, type MetaSchedulerClient } from 'gridlink/metascheduler';
import * as metascheduler from 'gridlink/metascheduler';
import { createPublicClient, createWalletClient, http, parseAbi, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';

const env = (k: string): string => {
  const v = process.env[k];
  if (!v) throw new Error(k + ' is not set');
  return v;
};
const transport = http(env('RPC_URL'));
const publicClient = createPublicClient({ chain: foundry, transport });
const client: MetaSchedulerClient = await createMetaSchedulerClient({ publicClient, address: env('METASCHEDULER') as Address });
const customerBalance: bigint = await client.getCreditBalance(env('CUSTOMER') as Address);

// A provider that never registered: the client's own call reverts through this project's viem.
const provider = client.withWalletClient(
  createWalletClient({ account: privateKeyToAccount(env('PROVIDER_KEY') as Hex), chain: foundry, transport }),
);
const claimed = await provider.claimNextJob().then(() => 'no revert', (e: unknown) => e);

// The same revert from a plain viem call of this project, decoded by gridlink.
const raw = await publicClient
  .simulateContract({
    account: privateKeyToAccount(env('PROVIDER_KEY') as Hex),
    address: env('METASCHEDULER') as Address,
    abi: parseAbi(['function claimNextJob()']),
    functionName: 'claimNextJob',
  })
  .then(() => 'no revert', (e: unknown) => e);
const decoded = toMetaSchedulerError(raw, 'claimNextJob');

const status: JobStatus = JobStatus.RUNNING;
const out: Record<string, unknown> = {
  credit: client.addresses.credit,
  customerBalance: customerBalance.toString(),
  clientError: isMetaSchedulerError(claimed, 'ProviderNotJoined') ? claimed.message : String(claimed),
  decodedError: decoded instanceof MetaSchedulerError ? decoded.name : String(decoded),
  roundTrip: decoded instanceof MetaSchedulerError && decoded.data ? decodeRevertData(decoded.data).name : null,
  sameClass: metascheduler.MetaSchedulerError === MetaSchedulerError,
  status,
};
if (process.env.CHECK_ADDON === '1') {
  const { loadAddon } = await import('gridlink/spool');
  out.addonFormatVersion = loadAddon().formatVersion;
}
console.log(JSON.stringify(out));
`;

describe('the npm package (npm pack, installed into an empty project)', () => {
  let dir: string;
  let consumer: string;
  let tarball: string;
  let files: string[];
  let anvil: Anvil | undefined;
  let deployed: DeployedAddresses;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gridlink-pack-'));
    consumer = path.join(dir, 'consumer');
    mkdirSync(consumer);
    const packed = JSON.parse(
      await run('npm', ['pack', '--json', '--silent', '--pack-destination', dir], { cwd: repo }),
    ) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(dir, packed[0]!.filename);
    files = packed[0]!.files.map((f) => f.path);
  }, 60_000);
  afterAll(async () => {
    await anvil?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs dist (JS, types, the sbatch proto, the relay bundle), the addon sources, not the tests or sources', () => {
    for (const f of [
      'package.json',
      'dist/index.js',
      'dist/index.d.ts',
      'dist/metascheduler/index.d.ts',
      'dist/reporter/index.js',
      'dist/supervisor/index.js',
      'dist/relay/index.js',
      'dist/native/index.js',
      'dist/cli/main.js',
      'dist/sbatch/sbatch.proto',
      'dist/relay/embedded.cjs',
      'binding.gyp',
      'native/addon/addon.cc',
    ]) {
      expect(files, f).toContain(f);
    }
    expect(files.filter((f) => /^(src|test|bench|contracts|plugins|scripts)\//.test(f) || f.endsWith('.map'))).toEqual([]);
    if (hasPrebuild) expect(files).toContain(`prebuilds/${process.platform}-${process.arch}/gridlink.node`);
  });

  it('installs into an empty project with its own viem', async () => {
    writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // Dependencies' install scripts (better-sqlite3, cpu-features) would compile
    // for minutes here (no prebuilt binaries can be downloaded): skipped, and
    // gridlink's own install script run alone below.
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', tarball, `viem@${version('viem')}`, `@types/node@${version('@types/node')}`],
      { cwd: consumer, timeoutMs: 150_000 },
    );
    const installed = path.join(consumer, 'node_modules', 'gridlink');
    expect(existsSync(path.join(installed, 'dist', 'index.js'))).toBe(true);
    // viem is a peer: gridlink uses the consumer's copy, it brings none of its own.
    expect(existsSync(path.join(installed, 'node_modules', 'viem'))).toBe(false);
    expect(existsSync(path.join(consumer, 'node_modules', 'viem', 'package.json'))).toBe(true);
  }, 180_000);

  it.skipIf(!hasPrebuild)(`its install script takes the prebuilt addon: nothing is compiled${skipReason(hasPrebuild, 'no prebuilds/ (npm run prebuildify, part of scripts/setup.sh)')}`, async () => {
    await run('npm', ['rebuild', 'gridlink', '--foreground-scripts'], { cwd: consumer });
    expect(existsSync(path.join(consumer, 'node_modules', 'gridlink', 'build'))).toBe(false);
  });

  it('has the gridlink bin', async () => {
    const help = await run(path.join(consumer, 'node_modules', '.bin', 'gridlink'), ['--help'], { cwd: consumer });
    expect(help).toMatch(/Usage: gridlink/);
  });

  it('compiles a strict NodeNext TypeScript consumer and runs it against anvil', async () => {
    writeFileSync(path.join(consumer, 'main.ts'), consumerTs);
    writeFileSync(
      path.join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          lib: ['ES2022'],
          types: ['node'],
          strict: true,
          skipLibCheck: true,
          outDir: 'out',
        },
        files: ['main.ts'],
      }),
    );
    const [compiled, started] = await Promise.allSettled([
      run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer }),
      startAnvil(),
    ]);
    if (started.status === 'fulfilled') anvil = started.value;
    if (compiled.status === 'rejected') throw compiled.reason;
    if (started.status === 'rejected') throw started.reason;
    const [admin, customer, provider] = anvil!.accounts;
    deployed = await deployMetaScheduler({
      rpcUrl: anvil!.rpcUrl,
      adminKey: admin!.privateKey,
      oracleAddress: admin!.address,
      customers: [{ address: customer!.address, amount: 1234n * CREDIT }],
    });

    const stdout = await run(process.execPath, [path.join(consumer, 'out', 'main.js')], {
      cwd: consumer,
      env: cleanEnv({
        RPC_URL: anvil!.rpcUrl,
        METASCHEDULER: deployed.metaScheduler,
        CUSTOMER: customer!.address,
        PROVIDER_KEY: provider!.privateKey,
        CHECK_ADDON: hasPrebuild ? '1' : '0',
      }),
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, unknown>;
    expect(out.credit).toBe(deployed.credit);
    expect(out.customerBalance).toBe((1234n * CREDIT).toString());
    expect(out.clientError).toMatch(/^claimNextJob: ProviderNotJoined: /);
    expect(out.decodedError).toBe('ProviderNotJoined');
    expect(out.roundTrip).toBe('ProviderNotJoined');
    expect(out.sameClass).toBe(true);
    if (hasPrebuild) expect(out.addonFormatVersion).toEqual(expect.any(Number));
  }, 360_000); // tsc over viem's types took 60 s at load 15 (CI run of 2026-12-06): a bound load alone cannot reach
});
