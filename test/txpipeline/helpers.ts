// Shared pieces of the pipeline tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { hexToBigInt, numberToHex, pad, type Address, type Hex } from 'viem';

import type { Anvil } from '../../harness/devnet/anvil.js';
import type { MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { metaSchedulerReverts } from '../../src/metascheduler/revert-decoder.js';
import { openDb, type Db } from '../../src/state/db.js';
import type { Migration } from '../../src/state/migrations.js';
import { TX_SCHEMA_V1 } from '../../src/txpipeline/schema.js';
import { TxPipeline } from '../../src/txpipeline/pipeline.js';
import type { TxEvent, TxPipelineOptions, TxRequest } from '../../src/txpipeline/types.js';
import { signingOptions, type AccountMode } from './accounts.js';

/** Only the pipeline's tables (the other parts' schemas are not this suite's business). */
export const TX_MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'txpipeline tables', statements: ['CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT', ...TX_SCHEMA_V1] },
];

export function tmpDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gl-txp-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openTestDb(dir: string, name = 'state.db'): Db {
  return openDb(path.join(dir, name), { migrations: TX_MIGRATIONS });
}

/** A pino logger that keeps its JSON lines for assertions. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, dest), lines };
}

export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Events per kind, in order. */
export function recordEvents(p: TxPipeline<MetaSchedulerError>, kind: string): TxEvent<MetaSchedulerError>[] {
  const evs: TxEvent<MetaSchedulerError>[] = [];
  p.on(kind, (ev) => evs.push(ev));
  return evs;
}

export const SINK: Address = '0x000000000000000000000000000000000000dEaD';

/** A value transfer carrying its ref in the data (so a chain scan can count refs). */
export function transfer(kind: string, ref: number, to: Address = SINK): TxRequest {
  return { kind, ref: String(ref), to, data: refData(ref), value: 1n };
}

export function refData(ref: number): Hex {
  return pad(numberToHex(ref), { size: 32 });
}

export function refOf(data: Hex): number {
  return Number(hexToBigInt(data));
}

/** A pipeline signing as `privateKey` (default anvil's first account) with a local key, or through the file's remote signer (`via`). */
export async function openPipeline(anvil: Anvil, db: Db, o: Partial<TxPipelineOptions<MetaSchedulerError>> & { via?: AccountMode } = {}): Promise<{ p: TxPipeline<MetaSchedulerError>; registry: Registry }> {
  const { via = 'local key', privateKey = anvil.accounts[0]!.privateKey, ...rest } = o;
  const registry = o.registry ?? new Registry();
  const p = await TxPipeline.open({
    db,
    revertDecoder: metaSchedulerReverts,
    rpcUrl: anvil.rpcUrl,
    chainId: 31337,
    pollMs: 100,
    logger: pino({ level: 'silent' }),
    ...rest,
    ...(await signingOptions(via, privateKey)),
    registry,
  });
  return { p, registry };
}

export async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const v = await m.get();
  return (v.values as Array<{ value: number; labels: Record<string, unknown>; metricName?: string }>)
    .filter((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))
    .filter((x) => !x.metricName || x.metricName === name)
    .reduce((a, x) => a + x.value, 0);
}

/** Observations of a histogram. */
export async function histCount(registry: Registry, name: string): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (!m) return 0;
  const values = (await m.get()).values as Array<{ value: number; metricName?: string }>;
  return values.filter((x) => x.metricName === `${name}_count`).reduce((a, x) => a + x.value, 0);
}

interface RawTx {
  hash: Hex;
  from: Address;
  nonce: Hex;
  input: Hex;
  maxFeePerGas?: Hex;
  maxPriorityFeePerGas?: Hex;
}

/** Every transaction from `from` in the canonical chain, block by block. */
export async function chainTxsFrom(anvil: Anvil, from: Address): Promise<Array<{ hash: Hex; nonce: number; input: Hex; block: number; maxFeePerGas: bigint }>> {
  const head = Number(hexToBigInt((await anvil.request('eth_blockNumber')) as Hex));
  const out: Array<{ hash: Hex; nonce: number; input: Hex; block: number; maxFeePerGas: bigint }> = [];
  for (let n = 0; n <= head; n++) {
    const b = (await anvil.request('eth_getBlockByNumber', [numberToHex(n), true])) as { transactions: RawTx[] } | null;
    for (const t of b?.transactions ?? []) {
      if (t.from.toLowerCase() !== from.toLowerCase()) continue;
      out.push({ hash: t.hash, nonce: Number(hexToBigInt(t.nonce)), input: t.input, block: n, maxFeePerGas: t.maxFeePerGas ? hexToBigInt(t.maxFeePerGas) : 0n });
    }
  }
  return out;
}

export async function chainNonce(anvil: Anvil, addr: Address, tag = 'latest'): Promise<number> {
  return Number(hexToBigInt((await anvil.request('eth_getTransactionCount', [addr, tag])) as Hex));
}

/** Manual mining: mine one block, then let the pipeline follow it. */
export async function mineAndPoll(anvil: Anvil, p: TxPipeline<MetaSchedulerError>, blocks = 1): Promise<void> {
  for (let i = 0; i < blocks; i++) {
    await anvil.mine();
    await p.poll();
  }
}

export function txRows(db: Db): Array<{ id: number; nonce: number; kind: string; ref: string; state: string; mined_hash: string | null; mined_block: number | null }> {
  return db.prepare('SELECT id, nonce, kind, ref, state, mined_hash, mined_block FROM txs ORDER BY nonce, id').all() as never;
}

export function attemptRows(db: Db, txId: number): Array<{ hash: string; max_fee: string; priority_fee: string; sent_block: number | null }> {
  return db.prepare('SELECT hash, max_fee, priority_fee, sent_block FROM tx_attempts WHERE tx_id = ? ORDER BY rowid').all(txId) as never;
}
