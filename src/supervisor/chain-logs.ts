// chain-logs.ts - the supervisor's view of its claims on chain: the
// MetaScheduler's ClaimJobEvent, ClaimNextCancellingJobEvent and
// ClaimNextTopUpJobEvent logs for this provider, read with eth_getLogs from
// the block after a persisted cursor up to the head (minus a confirmation
// depth). Each batch of logs and the cursor move in one SQLite transaction,
// so a restart replays exactly what was not recorded. The events' parameters
// are not indexed: the provider filter runs here.
//
// Reorgs deeper than the confirmation depth: the hash of each batch's last
// block is kept (the newest KEEP_HASHES); a cursor block whose hash the chain
// no longer has means recorded logs may be orphaned. The newest kept block
// still canonical is the fork; every log above it is read again and compared
// with what was recorded, in the transaction that moves the cursor back up: a
// recorded log found again (same kind, same job; its transaction maybe
// replaced) moves to its new position; one the chain no longer holds is orphaned (handlers.orphaned: a
// claim not yet submitted is closed, a pending action fails); a log not
// recorded before (a claim re-mined for another job) is recorded as new.
import { getAbiItem, isAddressEqual, parseEventLogs, type Address, type Hex, type Log, type PublicClient } from 'viem';
import type { Logger } from 'pino';

import { metaSchedulerAbi } from '../metascheduler/abi.generated.js';
import type { ClaimJobEvent, ClaimNextCancellingJobEvent, ClaimNextTopUpJobEvent } from '../metascheduler/types.js';
import { getMeta, setMeta, type Db } from '../state/db.js';
import type { RecordedLog } from './claim-store.js';

export const LOG_CURSOR_KEY = 'supervisor.log_cursor';
/** JSON [[block, hash], ...] of the last blocks of recorded batches, oldest first. */
export const LOG_HASHES_KEY = 'supervisor.log_cursor_hashes';
const KEEP_HASHES = 128;

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
  /** After a reorg: what was recorded from logs above the fork (re-read and compared). */
  recordedAbove?(block: bigint): RecordedLog[];
  /** A recorded log the reorg kept, at its new position. */
  moved?(r: RecordedLog, at: LogPosition): void;
  /** A recorded log the chain no longer holds. */
  orphaned?(r: RecordedLog): void;
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
  /**
   * The chain's tip when the last round ended with nothing left to read. A
   * tip of the same number and hash is the same chain (its hash commits to
   * every block below): the next round then asks the node for that one block
   * and nothing else, instead of re-checking the kept hashes and the head.
   */
  private settledTip: { number: bigint; hash: Hex } | undefined;

  constructor(private readonly opts: ChainLogFollowerOptions) {}

  /** The last block whose logs are recorded, undefined before the first start. */
  cursor(): bigint | undefined {
    const v = getMeta(this.opts.db, LOG_CURSOR_KEY);
    return v === undefined ? undefined : BigInt(v);
  }

  /**
   * At the first start there is nothing to replay: the cursor starts at the
   * head (or `fromBlock` - 1). Called before any claim is sent.
   */
  async init(fromBlock?: bigint): Promise<void> {
    if (this.cursor() !== undefined) return;
    const start = fromBlock !== undefined ? fromBlock - 1n : await this.opts.publicClient.getBlockNumber();
    const hash = await this.hashOf(start);
    this.opts.db.transaction(() => {
      setMeta(this.opts.db, LOG_CURSOR_KEY, String(start));
      if (hash) setMeta(this.opts.db, LOG_HASHES_KEY, JSON.stringify([[String(start), hash]]));
    })();
    this.opts.log.info({ cursor: start.toString() }, 'supervisor: claim logs followed from this block on (first start)');
  }

  /** Reads and records every log up to the confirmed head (after a reorg, from its fork); returns how many logs of ours were recorded. */
  async catchUp(): Promise<number> {
    const tip = await this.opts.publicClient.getBlock({ blockTag: 'latest' });
    const head = tip.number;
    if (this.settledTip?.number === head && this.settledTip.hash === tip.hash) return 0;
    const safe = head - BigInt(this.opts.confirmations) + 1n;
    const fork = await this.forkPoint(head);
    let n = 0;
    if (fork !== undefined) n = await this.reread(fork, safe);
    else {
      for (let from = (this.cursor() ?? safe) + 1n; from <= safe; ) {
        const to = from + this.opts.maxRange - 1n < safe ? from + this.opts.maxRange - 1n : safe;
        const logs = await this.getLogs(from, to);
        n += this.record(logs, to, to === head ? tip.hash : await this.hashOf(to));
        from = to + 1n;
      }
    }
    this.settledTip = { number: head, hash: tip.hash };
    return n;
  }

  private async getLogs(from: bigint, to: bigint): Promise<Log[]> {
    return (await this.opts.publicClient.getLogs({ address: this.opts.metaScheduler, events: EVENTS, fromBlock: from, toBlock: to, strict: false } as never)) as Log[];
  }

  private async hashOf(block: bigint): Promise<Hex | undefined> {
    try {
      return (await this.opts.publicClient.getBlock({ blockNumber: block })).hash ?? undefined;
    } catch (err) {
      if (/not found|could not be found/i.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  private hashes(): Array<[string, string]> {
    const v = getMeta(this.opts.db, LOG_HASHES_KEY);
    return v === undefined ? [] : (JSON.parse(v) as Array<[string, string]>);
  }

  /** undefined: the recorded blocks are still canonical; else the newest recorded block that is (the fork). */
  private async forkPoint(head: bigint): Promise<bigint | undefined> {
    const kept = this.hashes();
    const cursor = this.cursor();
    if (!kept.length || cursor === undefined) return undefined;
    const canonical = async ([b, h]: [string, string]) => BigInt(b) <= head && (await this.hashOf(BigInt(b))) === h;
    if (await canonical(kept[kept.length - 1]!)) return undefined;
    for (let i = kept.length - 2; i >= 0; i--) if (await canonical(kept[i]!)) return this.forkFound(BigInt(kept[i]![0]), cursor, false);
    // Deeper than the kept hashes: everything from before the oldest of them is read again.
    const oldest = BigInt(kept[0]![0]) - 1n;
    return this.forkFound(oldest < 0n ? 0n : oldest, cursor, true);
  }

  private forkFound(fork: bigint, cursor: bigint, beyondKept: boolean): bigint {
    this.opts.log[beyondKept ? 'error' : 'warn'](
      { fork: fork.toString(), cursor: cursor.toString(), depth: (cursor - fork).toString(), confirmations: this.opts.confirmations },
      beyondKept
        ? `supervisor: reorg deeper than the ${KEEP_HASHES} kept block hashes: claim logs are read again from block ${fork + 1n}; raise claims.logConfirmations to the chain's reorg depth`
        : 'supervisor: reorg deeper than claims.logConfirmations: claim logs above the fork are read again and compared with what was recorded; raise claims.logConfirmations to the chain\'s reorg depth',
    );
    return fork;
  }

  /** Every log in (fork, safe] read again and recorded in one transaction with what was recorded above the fork. */
  private async reread(fork: bigint, safe: bigint): Promise<number> {
    const logs: Log[] = [];
    for (let from = fork + 1n; from <= safe; ) {
      const to = from + this.opts.maxRange - 1n < safe ? from + this.opts.maxRange - 1n : safe;
      logs.push(...(await this.getLogs(from, to)));
      from = to + 1n;
    }
    const to = safe > fork ? safe : fork;
    return this.record(logs, to, await this.hashOf(to), fork);
  }

  private record(logs: Log[], to: bigint, hash: Hex | undefined, rereadAbove?: bigint): number {
    const { provider, handlers, db } = this.opts;
    let n = 0;
    db.transaction(() => {
      // After a reorg: what was recorded above the fork, matched against the logs read again.
      const recorded = rereadAbove !== undefined ? (handlers.recordedAbove?.(rereadAbove) ?? []) : [];
      const again = (kind: RecordedLog['kind'], jobId: Hex, at: LogPosition): boolean => {
        // The same job's log of the same kind (its transaction re-sent, or replaced with bumped fees: another hash).
        const same = (r: RecordedLog) => r.kind === kind && r.gridJobId === jobId.toLowerCase();
        let i = recorded.findIndex((r) => same(r) && r.txHash === at.txHash.toLowerCase());
        if (i < 0) i = recorded.findIndex(same);
        if (i < 0) return false;
        const [r] = recorded.splice(i, 1);
        handlers.moved?.(r!, at);
        return true;
      };
      for (const l of parseEventLogs({ abi: metaSchedulerAbi, logs, strict: true })) {
        if (l.removed || l.blockNumber === null || l.transactionHash === null || l.logIndex === null) continue;
        if (!isAddressEqual(l.address, this.opts.metaScheduler)) continue;
        const at: LogPosition = { block: l.blockNumber, txHash: l.transactionHash, logIndex: l.logIndex };
        if (l.eventName === 'ClaimJobEvent' && isAddressEqual(l.args.providerAddr, provider)) {
          if (again('claim', l.args.jobId, at)) continue;
          handlers.claim(l.args as ClaimJobEvent, at);
          n++;
        } else if (l.eventName === 'ClaimNextCancellingJobEvent' && isAddressEqual(l.args.providerAddr, provider)) {
          if (again('cancel', l.args.jobId, at)) continue;
          handlers.cancel(l.args as ClaimNextCancellingJobEvent, at);
          n++;
        } else if (l.eventName === 'ClaimNextTopUpJobEvent' && isAddressEqual(l.args._providerAddr, provider)) {
          if (again('topup', l.args._jobId, at)) continue;
          // The deployed ABI names this event's parameters with underscores.
          const ev: ClaimNextTopUpJobEvent = { jobId: l.args._jobId, providerAddr: l.args._providerAddr, maxDurationMinute: l.args.maxDurationMinute };
          handlers.topUp(ev, at);
          n++;
        }
      }
      for (const r of recorded) handlers.orphaned?.(r);
      setMeta(db, LOG_CURSOR_KEY, String(to));
      const kept = this.hashes().filter(([b]) => BigInt(b) < (rereadAbove !== undefined ? rereadAbove + 1n : to));
      if (hash) kept.push([String(to), hash]);
      setMeta(db, LOG_HASHES_KEY, JSON.stringify(kept.slice(-KEEP_HASHES)));
    })();
    return n;
  }
}
