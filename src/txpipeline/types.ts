// types.ts - the pipeline's public shapes.
import type { Address, Hex, LocalAccount } from 'viem';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';

import type { NewHeads } from '../chain/heads.js';
import type { Db } from '../state/db.js';

/**
 * A contract's revert as the owner's decoder gives it: an Error, with the raw
 * revert data when there was some (kept so a revert found by replaying a mined
 * transaction can be stored and decoded again later).
 */
export type RevertError = Error & { readonly data?: Hex | undefined };

/**
 * How the owners' contract reverts are read. The pipeline knows no contract
 * (like op-service's txmgr): the process that opens it passes the decoder of
 * the contracts it calls (src/metascheduler/revert-decoder.ts for gridlink).
 */
export interface RevertDecoder<E extends RevertError = RevertError> {
  /** The revert in what a simulation or a replay threw; undefined when `err` is no revert (network, nonce, ...). */
  fromError(err: unknown, functionName: string | undefined): E | undefined;
  /** Raw revert data (stored from a replay at the mined block) -> the error. */
  fromData(data: Hex, functionName: string | undefined): E;
  /** A revert known only by a reason (the node's words, or a mined revert that does not replay). */
  fromReason(reason: string, functionName: string | undefined, cause?: unknown): E;
  /** The call's name from its calldata, for a stored transaction whose request is gone (after a restart); optional. */
  functionName?(data: Hex): string | undefined;
}

export interface TxRequest {
  /** The owner's name for this kind of transaction; events are routed by it. */
  kind: string;
  /** The owner's reference (e.g. a report id), stored with the transaction. */
  ref: string;
  to: Address;
  /** The calldata, encoded by the owner (e.g. src/metascheduler/actions/*'s encoders). */
  data: Hex;
  /** The called function's name, for logs and revert errors (default: the decoder's `functionName(data)`). */
  functionName?: string;
  /** Wei sent with the call (default 0). */
  value?: bigint;
}

export type SubmitOutcome<E extends RevertError = RevertError> =
  | { ok: true; txId: number; nonce: number; hash: Hex }
  /** The simulation reverted: no nonce was taken. */
  | { ok: false; revert: E }
  /** RPC unreachable, pipeline full or stopped, ...: nothing was taken, try later. */
  | { ok: false; retry: Error };

export interface TxInfo {
  id: number;
  kind: string;
  ref: string;
  nonce: number;
  /** The mined attempt's hash for mined/confirmed/reverted, else the latest attempt's. */
  hash: Hex;
}

/**
 * What happens to a signed transaction, delivered to the handler of its kind
 * inside the SQLite transaction that records it.
 *
 * - mined: succeeded in a canonical block (not final: may be followed by unmined).
 * - unmined: the block of a `mined` (or, after a reorg deeper than the
 *   confirmation depth, `confirmed`) transaction left the canonical chain; it
 *   is pending again and re-sent; expect mined again later.
 * - confirmed: succeeded, at the confirmation depth. Terminal.
 * - reverted: mined with status 0 and at the confirmation depth (the nonce is
 *   consumed); `error` is the reason found by replaying the call at its block.
 *   Terminal. No `mined` event precedes it.
 * - lost: the nonce was consumed by a transaction this store did not sign
 *   (another signer of the same key), or the node refused the transaction for
 *   good after it passed simulation (its nonce is filled): re-plan. Terminal.
 */
export type TxEvent<E extends RevertError = RevertError> =
  | { type: 'mined'; tx: TxInfo; block: bigint; blockHash: Hex; timestamp: bigint }
  | { type: 'reverted'; tx: TxInfo; block: bigint; error: E }
  | { type: 'confirmed'; tx: TxInfo; block: bigint }
  | { type: 'unmined'; tx: TxInfo }
  | { type: 'lost'; tx: TxInfo };

export type TxEventHandler<E extends RevertError = RevertError> = (ev: TxEvent<E>) => void;

export type TxState = 'pending' | 'mined' | 'confirmed' | 'reverted' | 'lost';

/** A stored transaction, for owners reconciling after a crash. */
export interface TxRecord extends TxInfo {
  state: TxState;
  to: Address;
  data: Hex;
  value: bigint;
  gas: bigint;
  minedBlock: bigint | undefined;
  /** Number of signed attempts (first send + fee bumps). */
  attempts: number;
}

export interface SubmitOptions {
  /**
   * Called synchronously inside the SQLite transaction that stores each
   * signed transaction (before it is broadcast), so the owner can record the
   * tx id atomically with it. Throwing aborts the whole batch (nothing is
   * stored, no nonce is taken; the outcomes are `retry`).
   */
  onSigned?: (req: TxRequest, tx: TxInfo, index: number) => void;
}

export interface TxPipelineOptions<E extends RevertError = RevertError> {
  db: Db;
  /** Decodes the reverts of the contracts the owners call (simulation, mined reverts). */
  revertDecoder: RevertDecoder<E>;
  rpcUrl: string;
  /** The process's new-head subscription (src/chain/heads.ts): each head triggers a poll at once (polling continues regardless). */
  heads?: NewHeads;
  chainId: number;
  /** The signing key, in this process (exactly one of privateKey and account). */
  privateKey?: Hex;
  /** The signing account (a remote signer's viem account, src/signer/remote.ts): every transaction is signed through it. */
  account?: LocalAccount;
  /** Blocks (including its own) a transaction needs to count as done (default 3). */
  confirmations?: number;
  /** A pending transaction not mined this many blocks after its last send is replaced or re-sent (default 3). */
  replaceAfterBlocks?: number;
  /** Never sign a maxFeePerGas above this (default 500 gwei). */
  maxFeePerGasWei?: bigint;
  /** maxPriorityFeePerGas; default: eth_maxPriorityFeePerGas of the node. */
  priorityFeeWei?: bigint;
  /** Gas limit = estimate * (1 + gasMargin) (default 0.2). */
  gasMargin?: number;
  /** Follow interval (default 500 ms). */
  pollMs?: number;
  /** submit() waits (up to submitWaitMs) while this many transactions are signed and not confirmed (default 2000). */
  maxInFlight?: number;
  logger?: Logger;
  registry?: Registry;
  /** Handlers by kind, registered before open() returns (same as calling on()). */
  handlers?: Record<string, TxEventHandler<E>>;
  /** Block tag of the eth_estimateGas simulation (default 'pending': sees our own transactions still in the pool). */
  simulateBlockTag?: 'pending' | 'latest';
  /** Further behind than this, the follower checks unconfirmed transactions by receipt and jumps to the head (default 256). */
  maxCatchUpBlocks?: number;
  /** Blocks fetched per poll while catching up (default 64). */
  blocksPerPoll?: number;
  /** Canonical headers kept in chain_blocks for reorg detection (default 128). */
  keepBlocks?: number;
  /** Per-request RPC timeout (default 20 s). */
  rpcTimeoutMs?: number;
  /** How long submit() waits for in-flight room before answering `retry` (default 30 s). */
  submitWaitMs?: number;
}

export interface TxPipelineHealth {
  ok: boolean;
  error?: string;
  /** Last processed block. */
  head?: bigint;
  /** How far the processed block is behind the RPC's head (negative: the RPC is behind us). */
  lagBlocks?: number;
}
