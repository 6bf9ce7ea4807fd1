// rpc.ts - the few JSON-RPC calls the pipeline makes, over viem's HTTP
// transport (requests made in the same tick go out as one JSON-RPC batch).
// Raw requests on purpose: viem's actions cache block numbers and retry on
// their own; the pipeline does both itself.
import { createPublicClient, hexToBigInt, http, numberToHex, type Address, type Hex } from 'viem';

export interface Header {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
  baseFeePerGas: bigint;
  gasLimit: bigint;
  transactions: Hex[];
}

export interface Receipt {
  transactionHash: Hex;
  blockNumber: bigint;
  blockHash: Hex;
  status: 'success' | 'reverted';
}

export interface CallParams {
  from: Address;
  to: Address;
  data: Hex;
  value?: bigint;
  gas?: bigint;
}

type BlockRef = bigint | 'latest' | 'pending';
const tag = (b: BlockRef): string => (typeof b === 'bigint' ? numberToHex(b) : b);

interface RawHeader {
  number: Hex;
  hash: Hex;
  parentHash: Hex;
  timestamp: Hex;
  baseFeePerGas?: Hex;
  gasLimit: Hex;
  transactions: Hex[];
}

interface RawReceipt {
  transactionHash: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  status: Hex;
}

function header(r: RawHeader | null): Header | null {
  if (!r) return null;
  return {
    number: hexToBigInt(r.number),
    hash: r.hash,
    parentHash: r.parentHash,
    timestamp: hexToBigInt(r.timestamp),
    baseFeePerGas: r.baseFeePerGas ? hexToBigInt(r.baseFeePerGas) : 0n,
    gasLimit: hexToBigInt(r.gasLimit),
    transactions: (r.transactions ?? []).map((t) => (typeof t === 'string' ? t : (t as { hash: Hex }).hash)),
  };
}

function receipt(r: RawReceipt | null): Receipt | null {
  if (!r) return null;
  return {
    transactionHash: r.transactionHash,
    blockNumber: hexToBigInt(r.blockNumber),
    blockHash: r.blockHash,
    status: r.status === '0x1' ? 'success' : 'reverted',
  };
}

function callObject(p: CallParams): Record<string, Hex> {
  const o: Record<string, Hex> = { from: p.from, to: p.to, data: p.data };
  if (p.value) o.value = numberToHex(p.value);
  if (p.gas !== undefined) o.gas = numberToHex(p.gas);
  return o;
}

export class Rpc {
  private readonly request: (args: { method: string; params?: unknown[] }) => Promise<unknown>;

  constructor(
    readonly url: string,
    opts: { timeoutMs: number; batchSize?: number },
  ) {
    const client = createPublicClient({
      transport: http(url, { batch: { batchSize: opts.batchSize ?? 250, wait: 0 }, retryCount: 0, timeout: opts.timeoutMs }),
    });
    this.request = client.request as unknown as (args: { method: string; params?: unknown[] }) => Promise<unknown>;
  }

  private call<T>(method: string, params: unknown[] = []): Promise<T> {
    return this.request({ method, params }) as Promise<T>;
  }

  async chainId(): Promise<number> {
    return Number(hexToBigInt(await this.call<Hex>('eth_chainId')));
  }

  async blockNumber(): Promise<bigint> {
    return hexToBigInt(await this.call<Hex>('eth_blockNumber'));
  }

  async block(b: BlockRef): Promise<Header | null> {
    return header(await this.call<RawHeader | null>('eth_getBlockByNumber', [tag(b), false]));
  }

  /** All receipts of a block; null when the node does not know the block. */
  async blockReceipts(n: bigint): Promise<Receipt[] | null> {
    const rs = await this.call<RawReceipt[] | null>('eth_getBlockReceipts', [tag(n)]);
    return rs ? rs.map((r) => receipt(r)!) : null;
  }

  async receipt(hash: Hex): Promise<Receipt | null> {
    return receipt(await this.call<RawReceipt | null>('eth_getTransactionReceipt', [hash]));
  }

  async nonce(address: Address, b: BlockRef): Promise<number> {
    return Number(hexToBigInt(await this.call<Hex>('eth_getTransactionCount', [address, tag(b)])));
  }

  async estimateGas(p: CallParams, b: BlockRef): Promise<bigint> {
    return hexToBigInt(await this.call<Hex>('eth_estimateGas', [callObject(p), tag(b)]));
  }

  async maxPriorityFeePerGas(): Promise<bigint> {
    return hexToBigInt(await this.call<Hex>('eth_maxPriorityFeePerGas'));
  }

  async sendRawTransaction(raw: Hex): Promise<Hex> {
    return this.call<Hex>('eth_sendRawTransaction', [raw]);
  }

  async ethCall(p: CallParams, b: BlockRef): Promise<Hex> {
    return this.call<Hex>('eth_call', [callObject(p), tag(b)]);
  }
}
