// Deploys the project's Meta-Scheduler contracts on a devnet (anvil) and wires
// them: sub-contracts grant METASCHEDULER_ROLE to MetaScheduler, MetaScheduler
// grants it to the oracle, customers get minted credits.
//   tsx harness/devnet/deploy.ts --rpc http://127.0.0.1:8545 [--admin-key 0x..] [--oracle 0x..] [--customer 0xADDR=CREDITS]...
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type Abi,
  type Address,
  type Chain,
  type Hex,
  createPublicClient,
  createWalletClient,
  defineChain,
  getAddress,
  http,
  keccak256,
  maxUint256,
  parseUnits,
  toHex,
} from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { ANVIL_MNEMONIC } from './anvil.js';

export interface DeployedAddresses {
  metaScheduler: Address;
  credit: Address;
  providerManager: Address;
  providerJobQueues: Address;
  jobRepository: Address;
  constants: Address;
}

export interface DeployOptions {
  rpcUrl: string;
  adminKey: Hex;
  oracleAddress: Address;
  /** Credit-wei minted to each address. */
  customers?: { address: Address; amount: bigint }[];
  /** Where <Name>.json artifacts are; default: contracts/out of this checkout. */
  artifactsDir?: string;
}

export const METASCHEDULER_ROLE = keccak256(toHex('METASCHEDULER_ROLE'));

interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

function defaultArtifactsDir(): string {
  // Walk up so this works from src/ (tsx) and from dist/ (compiled).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'contracts', 'out');
    if (existsSync(path.join(candidate, 'MetaScheduler.json'))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('contracts/out not found: run `npm run contracts:build` first');
    dir = parent;
  }
}

function artifactReader(dir: string): (name: string) => Artifact {
  const cache = new Map<string, Artifact>();
  return (name) => {
    let artifact = cache.get(name);
    if (!artifact) {
      const file = path.join(dir, `${name}.json`);
      if (!existsSync(file)) throw new Error(`${file} missing: run \`npm run contracts:build\``);
      artifact = JSON.parse(readFileSync(file, 'utf8')) as Artifact;
      cache.set(name, artifact);
    }
    return artifact;
  };
}

export async function deployMetaScheduler(opts: DeployOptions): Promise<DeployedAddresses> {
  const readArtifact = artifactReader(opts.artifactsDir ?? defaultArtifactsDir());
  const account = privateKeyToAccount(opts.adminKey);
  const transport = http(opts.rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 50 });
  const chain: Chain = defineChain({
    id: await publicClient.getChainId(),
    name: 'devnet',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  });
  const wallet = createWalletClient({ account, chain, transport });

  const deploy = async (name: string, args: unknown[] = []): Promise<Address> => {
    const { abi, bytecode } = readArtifact(name);
    const hash = await wallet.deployContract({ abi, bytecode, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success' || !receipt.contractAddress) throw new Error(`deploying ${name} failed (${hash})`);
    return getAddress(receipt.contractAddress);
  };
  const send = async (name: string, address: Address, functionName: string, args: unknown[]): Promise<void> => {
    const hash = await wallet.writeContract({ abi: readArtifact(name).abi, address, functionName, args });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`${name}.${functionName} failed (${hash})`);
  };

  const credit = await deploy('Credit');
  const constants = await deploy('Constants');
  const providerManager = await deploy('ProviderManager');
  const providerJobQueues = await deploy('ProviderJobQueues');
  const jobRepository = await deploy('JobRepository');
  const metaScheduler = await deploy('MetaScheduler', [credit, constants, providerManager, providerJobQueues, jobRepository]);

  // MetaScheduler is the only writer of jobs, queues and job counts.
  await send('ProviderManager', providerManager, 'grantRole', [METASCHEDULER_ROLE, metaScheduler]);
  await send('ProviderJobQueues', providerJobQueues, 'grantRole', [METASCHEDULER_ROLE, metaScheduler]);
  await send('JobRepository', jobRepository, 'grantRole', [METASCHEDULER_ROLE, metaScheduler]);
  await send('MetaScheduler', metaScheduler, 'grantRole', [METASCHEDULER_ROLE, opts.oracleAddress]);
  for (const c of opts.customers ?? []) {
    await send('Credit', credit, 'mint', [c.address, c.amount]);
  }

  return { metaScheduler, credit, providerManager, providerJobQueues, jobRepository, constants };
}

function parseArgs(argv: string[]): DeployOptions {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const rpcUrl = value('--rpc');
  if (!rpcUrl) throw new Error('usage: deploy.ts --rpc URL [--admin-key HEX] [--oracle ADDR] [--customer ADDR=CREDITS]...');
  // Default to anvil's first dev account: the devnet is throw-away by design.
  const dev = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: 0 });
  const devKey = dev.getHdKey().privateKey;
  const adminKey = (value('--admin-key') ?? (devKey ? toHex(devKey) : undefined)) as Hex | undefined;
  if (!adminKey) throw new Error('--admin-key is required');
  const oracleAddress = (value('--oracle') ?? privateKeyToAccount(adminKey).address) as Address;
  const customers = argv.flatMap((a, i) => {
    if (argv[i - 1] !== '--customer') return [];
    const [address, credits] = a.split('=');
    if (!address || !credits) throw new Error(`--customer wants ADDR=CREDITS, got ${a}`);
    return [{ address: address as Address, amount: parseUnits(credits, 18) }];
  });
  return { rpcUrl, adminKey, oracleAddress, customers };
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  deployMetaScheduler(parseArgs(process.argv.slice(2)))
    .then((addresses) => console.log(JSON.stringify(addresses, null, 2)))
    .catch((e: unknown) => {
      console.error(e instanceof Error ? e.message : e);
      process.exit(1);
    });
}

/** The customer `privateKey` lets the MetaScheduler take its credits (an unlimited ERC-20 approve), mined before it resolves. */
export async function approveCredits(rpcUrl: string, privateKey: Hex, addresses: Pick<DeployedAddresses, 'credit' | 'metaScheduler'>): Promise<void> {
  const transport = http(rpcUrl);
  const publicClient = createPublicClient({ transport, pollingInterval: 50 });
  const chain = defineChain({ id: await publicClient.getChainId(), name: 'devnet', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
  const w = createWalletClient({ account: privateKeyToAccount(privateKey), chain, transport });
  const hash = await w.writeContract({
    address: addresses.credit,
    abi: [{ type: 'function', name: 'approve', stateMutability: 'nonpayable', inputs: [{ type: 'address' }, { type: 'uint256' }], outputs: [{ type: 'bool' }] }],
    functionName: 'approve',
    args: [addresses.metaScheduler, maxUint256],
  });
  await publicClient.waitForTransactionReceipt({ hash });
}
