// chain-logs.ts - the supervisor's view of its claims on chain: the
// MetaScheduler's ClaimJobEvent, ClaimNextCancellingJobEvent and
// ClaimNextTopUpJobEvent logs for this provider, read with eth_getLogs from
// the block after a persisted cursor up to the head (minus a confirmation
// depth). Each batch of logs and the cursor move in one SQLite transaction,
// so a restart replays exactly what was not recorded. The events' parameters
// are not indexed: the provider filter runs here.
import { getAbiItem, isAddressEqual, parseEventLogs, type Address, type Hex, type Log, type PublicClient } from 'viem';
import type { Logger } from 'pino';

import { metaSchedulerAbi } from '../metascheduler/abi.generated.js';
import type { ClaimJobEvent, ClaimNextCancellingJobEvent, ClaimNextTopUpJobEvent } from '../metascheduler/types.js';
import { getMeta, setMeta, type Db } from '../state/db.js';

export const LOG_CURSOR_KEY = 'supervisor.log_cursor';

export interface LogPosition {
  block: bigint;
  txHash: Hex;
  logIndex: number;
}

export interface ClaimLogHandlers {
  /** Called synchronously inside the transaction that moves the cursor: record, do not act. */
  claim(ev: ClaimJobEvent, at: LogPosition): void;
  cancel(ev: ClaimNextCancellingJobEvent, at: LogPosition): void;
  topUp(ev: ClaimNextTopUpJobEvent, at: LogPosition): void;
}

export interface ChainLogFollowerOptions {
  db: Db;
  publicClient: PublicClient;
  metaScheduler: Address;
  provider: Address;
  /** Logs are read up to head - confirmations + 1 (1 = the head itself). */
  confirmations: number;
  /** Blocks per eth_getLogs call. */
  maxRange: bigint;
  handlers: ClaimLogHandlers;
  log: Logger;
}

const EVENTS = [
  getAbiItem({ abi: metaSchedulerAbi, name: 'ClaimJobEvent' }),
  getAbiItem({ abi: metaSchedulerAbi, name: 'ClaimNextCancellingJobEvent' }),
  getAbiItem({ abi: metaSchedulerAbi, name: 'ClaimNextTopUpJobEvent' }),
];

export class ChainLogFollower {
  constructor(private readonly o: ChainLogFollowerOptions) {}

  /** The last block whose logs are recorded, undefined before the first start. */
  cursor(): bigint | undefined {
    const v = getMeta(this.o.db, LOG_CURSOR_KEY);
    return v === undefined ? undefined : BigInt(v);
  }

  /**
   * At the first start there is nothing to replay: the cursor starts at the
   * head (or `fromBlock` - 1). Called before any claim is sent.
   */
  async init(fromBlock?: bigint): Promise<void> {
    if (this.cursor() !== undefined) return;
    const start = fromBlock !== undefined ? fromBlock - 1n : await this.o.publicClient.getBlockNumber();
    setMeta(this.o.db, LOG_CURSOR_KEY, String(start));
    this.o.log.info({ cursor: start.toString() }, 'supervisor: claim logs followed from this block on (first start)');
  }

  /** Reads and records every log up to the confirmed head; returns how many logs of ours were recorded. */
  async catchUp(): Promise<number> {
    const head = await this.o.publicClient.getBlockNumber();
    const safe = head - BigInt(this.o.confirmations) + 1n;
    let n = 0;
    for (let from = (this.cursor() ?? safe) + 1n; from <= safe; ) {
      const to = from + this.o.maxRange - 1n < safe ? from + this.o.maxRange - 1n : safe;
      const logs = await this.o.publicClient.getLogs({ address: this.o.metaScheduler, events: EVENTS, fromBlock: from, toBlock: to, strict: false } as never);
      n += this.record(logs as Log[], to);
      from = to + 1n;
    }
    return n;
  }

  private record(logs: Log[], to: bigint): number {
    const { provider, handlers, db } = this.o;
    let n = 0;
    db.transaction(() => {
      for (const l of parseEventLogs({ abi: metaSchedulerAbi, logs, strict: true })) {
        if (l.removed || l.blockNumber === null || l.transactionHash === null || l.logIndex === null) continue;
        if (!isAddressEqual(l.address, this.o.metaScheduler)) continue;
        const at: LogPosition = { block: l.blockNumber, txHash: l.transactionHash, logIndex: l.logIndex };
        if (l.eventName === 'ClaimJobEvent' && isAddressEqual(l.args.providerAddr, provider)) {
          handlers.claim(l.args as ClaimJobEvent, at);
          n++;
        } else if (l.eventName === 'ClaimNextCancellingJobEvent' && isAddressEqual(l.args.providerAddr, provider)) {
          handlers.cancel(l.args as ClaimNextCancellingJobEvent, at);
          n++;
        } else if (l.eventName === 'ClaimNextTopUpJobEvent' && isAddressEqual(l.args._providerAddr, provider)) {
          // The deployed ABI names this event's parameters with underscores.
          const ev: ClaimNextTopUpJobEvent = { jobId: l.args._jobId, providerAddr: l.args._providerAddr, maxDurationMinute: l.args.maxDurationMinute };
          handlers.topUp(ev, at);
          n++;
        }
      }
      setMeta(db, LOG_CURSOR_KEY, String(to));
    })();
    return n;
  }
}
