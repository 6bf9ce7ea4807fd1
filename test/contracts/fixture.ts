// A fresh anvil with the project's contracts deployed, typed contract handles
// per actor, and the few lifecycle steps every contract test needs.
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import {
  type Account,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  type GetContractReturnType,
  type Hash,
  type Hex,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
  createPublicClient,
  createTestClient,
  createWalletClient,
  getContract,
  http,
  parseEther,
  parseEventLogs,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { foundry } from 'viem/chains';
import { type Anvil, startAnvil } from '../../harness/devnet/anvil.js';
import { type DeployedAddresses, deployMetaScheduler } from '../../harness/devnet/deploy.js';
import { buildIfStale } from '../../contracts/build.js';

// Build (if stale) before the generated ABI module is loaded.
buildIfStale();
const abis = await import('../../src/metascheduler/abi.generated.js');
export const { metaSchedulerAbi, jobRepositoryAbi, providerManagerAbi, providerJobQueuesAbi, creditAbi, constantsAbi } =
  abis;

export const Status = {
  PENDING: 0,
  META_SCHEDULED: 1,
  SCHEDULED: 2,
  RUNNING: 3,
  CANCELLED: 4,
  FINISHED: 5,
  FAILED: 6,
  OUT_OF_CREDITS: 7,
  PANICKED: 8,
} as const;
export type StatusValue = (typeof Status)[keyof typeof Status];
export const COLD: StatusValue[] = [Status.CANCELLED, Status.FINISHED, Status.FAILED, Status.OUT_OF_CREDITS, Status.PANICKED];

/** 1 credit = 1e18 credit-wei. */
export const credits = (n: number | bigint): bigint => parseEther(String(n));

export interface JobDefinitionInput {
  gpus: bigint;
  memPerCpu: bigint;
  cpusPerTask: bigint;
  ntasks: bigint;
  batchLocationHash: string;
  storageType: number;
  uses: readonly { key: string; value: string }[];
  affinity: readonly { label: { key: string; value: string }; op: Hex }[];
}

/** One task, one CPU, 1 MB per CPU: with DEFAULT_PRICES this costs 4 credits/min. */
export function jobDefinition(overrides: Partial<JobDefinitionInput> = {}): JobDefinitionInput {
  return {
    gpus: 0n,
    memPerCpu: 1n,
    cpusPerTask: 1n,
    ntasks: 1n,
    batchLocationHash: 'batch-hash',
    storageType: 0,
    uses: [{ key: 'os', value: 'linux' }],
    affinity: [{ label: { key: 'zone', value: 'ch' }, op: '0x3d3d' }],
    ...overrides,
  };
}

/** perMin = ntasks*(cpus*3 + cpus*mem*1) + gpus*5 credits. */
export const DEFAULT_PRICES = { gpuPricePerMin: credits(5), cpuPricePerMin: credits(3), memPricePerMin: credits(1) };
export const DEFAULT_HARDWARE = { nodes: 1n, gpusPerNode: [2n], cpusPerNode: [8n], memPerNode: [16_000n] };

export interface JobOptions {
  locked?: bigint;
  definition?: JobDefinitionInput;
  delegate?: boolean;
  /** The customer (default: d.customer). */
  by?: Actor;
  /** The provider the oracle assigns (default: d.provider). */
  to?: Actor;
}

type Clients = {
  public: PublicClient<Transport, typeof foundry>;
  wallet: WalletClient<Transport, typeof foundry, Account>;
};

/** One account with a typed handle on every contract. */
export interface Actor {
  address: Address;
  ms: GetContractReturnType<typeof metaSchedulerAbi, Clients>;
  jobs: GetContractReturnType<typeof jobRepositoryAbi, Clients>;
  pm: GetContractReturnType<typeof providerManagerAbi, Clients>;
  queues: GetContractReturnType<typeof providerJobQueuesAbi, Clients>;
  credit: GetContractReturnType<typeof creditAbi, Clients>;
  constants: GetContractReturnType<typeof constantsAbi, Clients>;
}

export type OnChainJob = Awaited<ReturnType<Actor['jobs']['read']['get']>>;

function actor(rpcUrl: string, account: Account, addresses: DeployedAddresses): Actor {
  const transport = http(rpcUrl);
  const client: Clients = {
    public: createPublicClient({ chain: foundry, transport, pollingInterval: 50 }),
    wallet: createWalletClient({ account, chain: foundry, transport }),
  };
  return {
    address: account.address,
    ms: getContract({ address: addresses.metaScheduler, abi: metaSchedulerAbi, client }),
    jobs: getContract({ address: addresses.jobRepository, abi: jobRepositoryAbi, client }),
    pm: getContract({ address: addresses.providerManager, abi: providerManagerAbi, client }),
    queues: getContract({ address: addresses.providerJobQueues, abi: providerJobQueuesAbi, client }),
    credit: getContract({ address: addresses.credit, abi: creditAbi, client }),
    constants: getContract({ address: addresses.constants, abi: constantsAbi, client }),
  };
}

/**
 * Actors: admin (deployer), oracle (METASCHEDULER_ROLE), customer and other
 * (funded with credits), provider and provider2 (registered and approved at
 * DEFAULT_PRICES), newcomer (nothing).
 */
export class Devnet {
  readonly publicClient: PublicClient<Transport, typeof foundry>;
  readonly testClient: TestClient<'anvil', Transport, typeof foundry>;
  readonly admin: Actor;
  readonly oracle: Actor;
  readonly customer: Actor;
  readonly provider: Actor;
  readonly provider2: Actor;
  readonly other: Actor;
  /** Has ETH but never registered as a provider. */
  readonly newcomer: Actor;

  constructor(
    readonly anvil: Anvil,
    readonly addresses: DeployedAddresses,
  ) {
    const transport = http(anvil.rpcUrl);
    this.publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 50 });
    this.testClient = createTestClient({ chain: foundry, mode: 'anvil', transport });
    const [admin, oracle, customer, provider, provider2, other, newcomer] = anvil.accounts.map((a) =>
      actor(anvil.rpcUrl, privateKeyToAccount(a.privateKey), addresses),
    ) as [Actor, Actor, Actor, Actor, Actor, Actor, Actor];
    this.admin = admin;
    this.oracle = oracle;
    this.customer = customer;
    this.provider = provider;
    this.provider2 = provider2;
    this.other = other;
    this.newcomer = newcomer;
  }

  /** Waits for the transaction and fails the test if it reverted. */
  async mined(tx: Promise<Hash>): Promise<TransactionReceipt> {
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: await tx });
    expect(receipt.status).toBe('success');
    return receipt;
  }

  async advanceMinutes(minutes: number): Promise<void> {
    await this.anvil.increaseTime(minutes * 60);
  }

  async registerAndApprove(p: Actor, prices = DEFAULT_PRICES): Promise<void> {
    await this.mined(p.pm.write.register([DEFAULT_HARDWARE, prices, [{ key: 'name', value: 'test' }]]));
    await this.mined(this.admin.pm.write.approve([p.address]));
  }

  async newJob(opts: JobOptions = {}): Promise<Hex> {
    const by = opts.by ?? this.customer;
    const locked = opts.locked ?? credits(400);
    await this.mined(by.credit.write.approve([this.addresses.metaScheduler, locked]));
    const receipt = await this.mined(
      by.ms.write.requestNewJob([opts.definition ?? jobDefinition(), locked, `0x${'11'.repeat(32)}`, opts.delegate ?? false]),
    );
    const [event] = parseEventLogs({ abi: metaSchedulerAbi, logs: receipt.logs, eventName: 'NewJobRequestEvent' });
    if (!event) throw new Error('no NewJobRequestEvent');
    return event.args._jobId;
  }

  async metaScheduled(opts: JobOptions = {}): Promise<Hex> {
    const id = await this.newJob(opts);
    await this.mined(this.oracle.ms.write.metaSchedule([id, (opts.to ?? this.provider).address]));
    return id;
  }

  /** Claims the provider's next job: the queue is FIFO, so this is the new job only if none was waiting. */
  async scheduled(opts: JobOptions = {}): Promise<Hex> {
    const id = await this.metaScheduled(opts);
    await this.mined((opts.to ?? this.provider).ms.write.claimNextJob());
    return id;
  }

  async running(opts: JobOptions = {}): Promise<Hex> {
    const id = await this.scheduled(opts);
    await this.mined((opts.to ?? this.provider).ms.write.providerSetJobStatus([id, Status.RUNNING, 0n, '', 0n]));
    return id;
  }

  async job(id: Hex): Promise<OnChainJob> {
    return this.customer.jobs.read.get([id]);
  }

  async balance(a: Actor | Address): Promise<bigint> {
    return this.customer.credit.read.balanceOf([typeof a === 'string' ? a : a.address]);
  }
}

export async function startDevnet(): Promise<Devnet> {
  const anvil = await startAnvil({ accounts: 7 });
  try {
    const addresses = await deployMetaScheduler({
      rpcUrl: anvil.rpcUrl,
      adminKey: anvil.accounts[0]!.privateKey,
      oracleAddress: anvil.accounts[1]!.address,
      customers: [
        { address: anvil.accounts[2]!.address, amount: credits(100_000) },
        { address: anvil.accounts[5]!.address, amount: credits(100_000) },
      ],
    });
    const d = new Devnet(anvil, addresses);
    await d.registerAndApprove(d.provider);
    await d.registerAndApprove(d.provider2);
    return d;
  } catch (e) {
    await anvil.stop();
    throw e;
  }
}

/** Expects the call to revert with exactly this custom error (and these arguments, if given). */
export async function expectRevert(call: Promise<unknown>, errorName: string, args?: readonly unknown[]): Promise<void> {
  let caught: unknown;
  try {
    await call;
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected revert ${errorName}`).toBeInstanceOf(BaseError);
  const reverted = (caught as BaseError).walk((e) => e instanceof ContractFunctionRevertedError);
  expect(reverted, `not a contract revert: ${(caught as Error).message}`).toBeInstanceOf(ContractFunctionRevertedError);
  const data = (reverted as ContractFunctionRevertedError).data;
  expect(data?.errorName, (caught as Error).message).toBe(errorName);
  if (args) expect(data?.args ?? []).toEqual(args);
}

/**
 * One devnet per test file, rolled back to its post-deploy snapshot after each
 * test so queue contents and balances never leak from one test to the next.
 */
export function useDevnet(): () => Devnet {
  let d: Devnet | undefined;
  let snapshot: Hex | undefined;
  beforeAll(async () => {
    d = await startDevnet();
  });
  afterAll(async () => {
    await d?.anvil.stop();
  });
  beforeEach(async () => {
    snapshot = await d!.testClient.snapshot();
  });
  afterEach(async () => {
    if (snapshot) await d!.testClient.revert({ id: snapshot });
  });
  return () => {
    if (!d) throw new Error('devnet not started');
    return d;
  };
}
