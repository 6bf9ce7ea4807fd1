// anvil.ts - a local anvil chain for the devnet and tests: started on a free
// port, its funded dev accounts, stopped with the process.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Address, Hex } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';

import { freePort } from '../cluster/ports.js';

/** anvil's built-in default mnemonic: the dev accounts it funds with 10000 ETH. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

export interface AnvilAccount {
  address: Address;
  privateKey: Hex;
}

export interface StartAnvilOptions {
  /** Loopback port; a free one is picked when omitted. */
  port?: number;
  /** Address to listen on (default 127.0.0.1; 0.0.0.0 for containers). rpcUrl stays the loopback one. */
  host?: string;
  /** Seconds between blocks; omitted = mine on every transaction (automine). */
  blockTime?: number;
  /** Number of funded dev accounts (default 10). */
  accounts?: number;
  /** Max time to wait for the RPC to answer (default 20 s). */
  startTimeoutMs?: number;
}

export interface Anvil {
  rpcUrl: string;
  /** The same node over websocket (anvil serves both on one port). */
  wsUrl: string;
  port: number;
  pid: number;
  accounts: AnvilAccount[];
  stop(): Promise<void>;
  /** Advances the chain clock by `seconds` and mines one block so views see it. */
  increaseTime(seconds: number): Promise<void>;
  mine(): Promise<void>;
  /** Off: transactions wait in the mempool until mine(), to stage same-block races. */
  setAutomine(enabled: boolean): Promise<void>;
  /** Raw JSON-RPC call, for the anvil_* / evm_* methods viem's clients do not expose. */
  request(method: string, params?: unknown[]): Promise<unknown>;
}

function findAnvilBinary(): string {
  // Walk up from this file so it works from src/ (tsx) and dist/ (compiled).
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'node_modules', '.bin', 'anvil');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return 'anvil'; // fall back to PATH
}

let cachedAccounts: AnvilAccount[] = [];
function devAccounts(n: number): AnvilAccount[] {
  // Derivation costs a PBKDF2 pass per key: derive once per process.
  for (let i = cachedAccounts.length; i < n; i++) {
    const acct = mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: i });
    const pk = acct.getHdKey().privateKey;
    if (!pk) throw new Error('cannot derive anvil dev key');
    cachedAccounts.push({ address: acct.address, privateKey: `0x${Buffer.from(pk).toString('hex')}` });
  }
  return cachedAccounts.slice(0, n);
}

async function rpc(rpcUrl: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`anvil ${method}: ${body.error.message}`);
  return body.result;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function startOnce(port: number, opts: StartAnvilOptions): Promise<Anvil> {
  const nAccounts = opts.accounts ?? 10;
  const args = [
    '--host', opts.host ?? '127.0.0.1',
    '--port', String(port),
    '--silent',
    '--disable-code-size-limit',
    '--accounts', String(nAccounts),
    '--mnemonic', ANVIL_MNEMONIC,
  ];
  if (opts.blockTime !== undefined) args.push('--block-time', String(opts.blockTime));

  const child = spawn(findAnvilBinary(), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  let spawnError: Error | undefined;
  child.once('error', (e) => (spawnError = e));

  // Safety net: a test that crashes before stop() must not leave anvil behind.
  const onExit = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  const rpcUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 20_000);
  for (;;) {
    if (spawnError || child.exitCode !== null) {
      process.removeListener('exit', onExit);
      throw new Error(`anvil exited before answering on port ${port}: ${spawnError?.message ?? stderr.trim()}`);
    }
    try {
      await rpc(rpcUrl, 'eth_chainId');
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        process.removeListener('exit', onExit);
        throw new Error(`anvil did not answer eth_chainId on ${rpcUrl} within the timeout: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    rpcUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    accounts: devAccounts(nAccounts),
    stop() {
      stopped ??= (async () => {
        process.removeListener('exit', onExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        if (!(await waitExit(child, 3000))) {
          child.kill('SIGKILL');
          await waitExit(child, 3000);
        }
      })();
      return stopped;
    },
    async increaseTime(seconds: number) {
      await rpc(rpcUrl, 'evm_increaseTime', [Math.floor(seconds)]);
      await rpc(rpcUrl, 'evm_mine');
    },
    async mine() {
      await rpc(rpcUrl, 'evm_mine');
    },
    async setAutomine(enabled: boolean) {
      await rpc(rpcUrl, 'evm_setAutomine', [enabled]);
    },
    request: (method: string, params: unknown[] = []) => rpc(rpcUrl, method, params),
  };
}

/**
 * Starts a throw-away anvil on loopback. The free-port probe can race with
 * another process grabbing the port, so an automatically chosen port is
 * retried a few times; an explicit port is not.
 */
export async function startAnvil(opts: StartAnvilOptions = {}): Promise<Anvil> {
  if (opts.port !== undefined) return startOnce(opts.port, opts);
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(await freePort(), opts);
    } catch (e) {
      lastErr = e;
    }
  }
  throw lastErr;
}
