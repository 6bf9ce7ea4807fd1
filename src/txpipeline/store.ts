// store.ts - the pipeline's SQL (tables in schema.ts). Synchronous, like
// better-sqlite3; callers group calls in db.transaction().
import type { Address, Hex } from 'viem';
import type Database from 'better-sqlite3';

import type { Db } from '../state/db.js';
import type { TxState } from './types.js';

export interface TxRow {
  id: number;
  sender: string;
  nonce: number;
  kind: string;
  ref: string;
  to_addr: string;
  value: string;
  data: string;
  gas: number;
  state: TxState;
  first_sent_block: number | null;
  mined_hash: string | null;
  mined_block: number | null;
  mined_block_hash: string | null;
  receipt_status: string | null;
  revert_data: string | null;
  created_at: number;
  updated_at: number;
}

export interface AttemptRow {
  hash: string;
  tx_id: number;
  raw: string;
  max_fee: string;
  priority_fee: string;
  sent_block: number | null;
  created_at: number;
}

/** A pending transaction with its latest attempt. */
export interface PendingRow extends TxRow {
  a_hash: string;
  a_raw: string;
  a_max_fee: string;
  a_priority_fee: string;
  a_sent_block: number | null;
}

export interface BlockRow {
  number: number;
  hash: string;
  parent_hash: string;
  timestamp: number;
}

export class TxStore {
  private readonly stmts: Record<string, Database.Statement>;

  constructor(
    readonly db: Db,
    readonly sender: Address,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.stmts = {
      insertTx: p(`INSERT INTO txs (sender, nonce, kind, ref, to_addr, value, data, gas, state, created_at, updated_at)
                   VALUES (@sender, @nonce, @kind, @ref, @to_addr, @value, @data, @gas, 'pending', @now, @now)`),
      insertAttempt: p(`INSERT INTO tx_attempts (hash, tx_id, raw, max_fee, priority_fee, sent_block, created_at)
                        VALUES (?, ?, ?, ?, ?, NULL, ?)`),
      attemptSent: p(`UPDATE tx_attempts SET sent_block = ? WHERE hash = ?`),
      firstSent: p(`UPDATE txs SET first_sent_block = COALESCE(first_sent_block, ?) WHERE id = ?`),
      get: p(`SELECT * FROM txs WHERE id = ?`),
      byRef: p(`SELECT * FROM txs WHERE kind = ? AND ref = ? ORDER BY id`),
      attempts: p(`SELECT * FROM tx_attempts WHERE tx_id = ? ORDER BY rowid`),
      attempt: p(`SELECT * FROM tx_attempts WHERE hash = ?`),
      countAttempts: p(`SELECT COUNT(*) AS n FROM tx_attempts WHERE tx_id = ?`),
      latestAttempt: p(`SELECT * FROM tx_attempts WHERE tx_id = ? ORDER BY rowid DESC LIMIT 1`),
      pending: p(`SELECT t.*, a.hash AS a_hash, a.raw AS a_raw, a.max_fee AS a_max_fee, a.priority_fee AS a_priority_fee, a.sent_block AS a_sent_block
                  FROM txs t JOIN tx_attempts a ON a.rowid = (SELECT MAX(rowid) FROM tx_attempts WHERE tx_id = t.id)
                  WHERE t.state = 'pending' AND t.sender = ? ORDER BY t.nonce`),
      unconfirmed: p(`SELECT * FROM txs WHERE state IN ('pending', 'mined') AND sender = ? ORDER BY nonce`),
      unconfirmedHashes: p(`SELECT a.hash, a.tx_id FROM tx_attempts a JOIN txs t ON t.id = a.tx_id WHERE t.state IN ('pending', 'mined') AND t.sender = ?`),
      minedAtDepth: p(`SELECT * FROM txs WHERE state = 'mined' AND sender = ? AND mined_block <= ? ORDER BY nonce`),
      minedAbove: p(`SELECT * FROM txs WHERE state IN ('mined', 'confirmed', 'reverted') AND sender = ? AND mined_block > ? ORDER BY nonce`),
      pendingBelow: p(`SELECT * FROM txs WHERE state = 'pending' AND sender = ? AND nonce < ? ORDER BY nonce`),
      inFlight: p(`SELECT COUNT(*) AS n FROM txs WHERE state IN ('pending', 'mined') AND sender = ?`),
      maxNonce: p(`SELECT MAX(nonce) AS n FROM txs WHERE state <> 'lost' AND sender = ?`),
      liveNoncesFrom: p(`SELECT nonce FROM txs WHERE state <> 'lost' AND sender = ? AND nonce >= ? ORDER BY nonce`),
      setMined: p(`UPDATE txs SET state = 'mined', mined_hash = ?, mined_block = ?, mined_block_hash = ?, receipt_status = ?, revert_data = ?, updated_at = ? WHERE id = ?`),
      setPending: p(`UPDATE txs SET state = 'pending', mined_hash = NULL, mined_block = NULL, mined_block_hash = NULL, receipt_status = NULL, revert_data = NULL, updated_at = ? WHERE id = ?`),
      setState: p(`UPDATE txs SET state = ?, updated_at = ? WHERE id = ?`),
      cursor: p(`SELECT * FROM chain_blocks ORDER BY number DESC LIMIT 1`),
      block: p(`SELECT * FROM chain_blocks WHERE number = ?`),
      blocksDesc: p(`SELECT * FROM chain_blocks ORDER BY number DESC`),
      insertBlock: p(`INSERT OR REPLACE INTO chain_blocks (number, hash, parent_hash, timestamp) VALUES (?, ?, ?, ?)`),
      deleteAbove: p(`DELETE FROM chain_blocks WHERE number > ?`),
      deleteBelow: p(`DELETE FROM chain_blocks WHERE number < ?`),
      clearBlocks: p(`DELETE FROM chain_blocks`),
    };
  }

  insertTx(t: { nonce: number; kind: string; ref: string; to: Address; value: bigint; data: Hex; gas: bigint }): number {
    const r = this.stmts.insertTx!.run({
      sender: this.sender,
      nonce: t.nonce,
      kind: t.kind,
      ref: t.ref,
      to_addr: t.to,
      value: t.value.toString(),
      data: t.data,
      gas: Number(t.gas),
      now: Date.now(),
    });
    return Number(r.lastInsertRowid);
  }

  insertAttempt(a: { hash: Hex; txId: number; raw: Hex; maxFee: bigint; tip: bigint }): void {
    this.stmts.insertAttempt!.run(a.hash, a.txId, a.raw, a.maxFee.toString(), a.tip.toString(), Date.now());
  }

  markSent(txId: number, hash: string, block: bigint): void {
    this.stmts.attemptSent!.run(Number(block), hash);
    this.stmts.firstSent!.run(Number(block), txId);
  }

  get(id: number): TxRow | undefined {
    return this.stmts.get!.get(id) as TxRow | undefined;
  }

  byRef(kind: string, ref: string): TxRow[] {
    return this.stmts.byRef!.all(kind, ref) as TxRow[];
  }

  attempts(txId: number): AttemptRow[] {
    return this.stmts.attempts!.all(txId) as AttemptRow[];
  }

  attempt(hash: string): AttemptRow | undefined {
    return this.stmts.attempt!.get(hash) as AttemptRow | undefined;
  }

  countAttempts(txId: number): number {
    return (this.stmts.countAttempts!.get(txId) as { n: number }).n;
  }

  latestAttempt(txId: number): AttemptRow | undefined {
    return this.stmts.latestAttempt!.get(txId) as AttemptRow | undefined;
  }

  pending(): PendingRow[] {
    return this.stmts.pending!.all(this.sender) as PendingRow[];
  }

  unconfirmed(): TxRow[] {
    return this.stmts.unconfirmed!.all(this.sender) as TxRow[];
  }

  unconfirmedHashes(): Array<{ hash: string; tx_id: number }> {
    return this.stmts.unconfirmedHashes!.all(this.sender) as Array<{ hash: string; tx_id: number }>;
  }

  minedAtDepth(maxBlock: bigint): TxRow[] {
    return this.stmts.minedAtDepth!.all(this.sender, Number(maxBlock)) as TxRow[];
  }

  minedAbove(block: bigint): TxRow[] {
    return this.stmts.minedAbove!.all(this.sender, Number(block)) as TxRow[];
  }

  pendingBelow(nonce: number): TxRow[] {
    return this.stmts.pendingBelow!.all(this.sender, nonce) as TxRow[];
  }

  inFlight(): number {
    return (this.stmts.inFlight!.get(this.sender) as { n: number }).n;
  }

  maxNonce(): number | undefined {
    const n = (this.stmts.maxNonce!.get(this.sender) as { n: number | null }).n;
    return n ?? undefined;
  }

  liveNoncesFrom(nonce: number): number[] {
    return (this.stmts.liveNoncesFrom!.all(this.sender, nonce) as Array<{ nonce: number }>).map((r) => r.nonce);
  }

  setMined(id: number, m: { hash: string; block: bigint; blockHash: string; status: 'success' | 'reverted'; revertData: string | null }): void {
    this.stmts.setMined!.run(m.hash, Number(m.block), m.blockHash, m.status, m.revertData, Date.now(), id);
  }

  setPending(id: number): void {
    this.stmts.setPending!.run(Date.now(), id);
  }

  setState(id: number, state: TxState): void {
    this.stmts.setState!.run(state, Date.now(), id);
  }

  cursor(): BlockRow | undefined {
    return this.stmts.cursor!.get() as BlockRow | undefined;
  }

  block(n: bigint): BlockRow | undefined {
    return this.stmts.block!.get(Number(n)) as BlockRow | undefined;
  }

  blocksDesc(): BlockRow[] {
    return this.stmts.blocksDesc!.all() as BlockRow[];
  }

  insertBlock(b: { number: bigint; hash: string; parentHash: string; timestamp: bigint }): void {
    this.stmts.insertBlock!.run(Number(b.number), b.hash, b.parentHash, Number(b.timestamp));
  }

  deleteBlocksAbove(n: bigint): void {
    this.stmts.deleteAbove!.run(Number(n));
  }

  deleteBlocksBelow(n: bigint): void {
    this.stmts.deleteBelow!.run(Number(n));
  }

  clearBlocks(): void {
    this.stmts.clearBlocks!.run();
  }
}
