// claim-follower.ts - `gridlink ldap-connector run`: reads the
// MetaScheduler's ClaimJobEvent logs for one provider and makes sure each
// claimed job's customer has a user, ahead of the supervisor. The cursor (the
// last block whose customers all have users) is written only after they do,
// so a kill at any instant re-reads at most one range; ensureUser is
// idempotent. A customer whose address cannot be a user is logged and
// skipped; anything retryable (directory down) stops the range and it is
// read again after pollMs.
import { readFileSync, renameSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

import { getAbiItem, isAddressEqual, parseEventLogs, type Address, type Log, type PublicClient } from 'viem';
import type { Logger } from 'pino';

import { metaSchedulerAbi } from '../metascheduler/abi.generated.js';
import type { LdapConnector } from './connector.js';
import { DirectoryError } from './errors.js';

export interface ClaimFollowerOptions {
  connector: LdapConnector;
  publicClient: PublicClient;
  metaScheduler: Address;
  provider: Address;
  confirmations: number;
  logRange: number;
  pollMs: number;
  fromBlock?: number | undefined;
  stateFile: string;
  concurrency: number;
  log: Logger;
  signal: AbortSignal;
}

const CLAIM = getAbiItem({ abi: metaSchedulerAbi, name: 'ClaimJobEvent' });

function readCursor(file: string): bigint | undefined {
  try {
    const v = (JSON.parse(readFileSync(file, 'utf8')) as { block?: unknown }).block;
    return typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : undefined;
  } catch {
    return undefined;
  }
}

function writeCursor(file: string, block: bigint): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ block: block.toString() }) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

async function inBatches<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await f(items[i++]!);
  }));
}

/** Users for the customers claimed in [from, to]; throws on anything retryable. */
async function usersForRange(o: ClaimFollowerOptions, from: bigint, to: bigint): Promise<number> {
  const logs = await o.publicClient.getLogs({ address: o.metaScheduler, event: CLAIM, fromBlock: from, toBlock: to, strict: false } as never);
  const customers = new Set<Address>();
  for (const l of parseEventLogs({ abi: metaSchedulerAbi, logs: logs as Log[], eventName: 'ClaimJobEvent', strict: true })) {
    if (!l.removed && isAddressEqual(l.args.providerAddr, o.provider)) customers.add(l.args.customerAddr);
  }
  let created = 0;
  await inBatches([...customers], o.concurrency, async (customer) => {
    try {
      if ((await o.connector.ensureUser(customer)).created) created++;
    } catch (err) {
      if (err instanceof DirectoryError && !err.retryable) {
        o.log.error({ customer, err: err.message }, 'ldap-connector: this customer cannot get a user; skipped');
        return;
      }
      throw err;
    }
  });
  return created;
}

export async function followClaims(o: ClaimFollowerOptions): Promise<void> {
  const sleep = (ms: number) => new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    o.signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
  });
  while (!o.signal.aborted) {
    try {
      const head = await o.publicClient.getBlockNumber({ cacheTime: 0 });
      let cursor = readCursor(o.stateFile);
      if (cursor === undefined) {
        cursor = o.fromBlock !== undefined ? BigInt(o.fromBlock) - 1n : head;
        writeCursor(o.stateFile, cursor);
        o.log.info({ cursor: cursor.toString() }, 'ldap-connector: claims followed from this block on (first start)');
      }
      const safe = head - BigInt(o.confirmations) + 1n;
      for (let from = cursor + 1n; from <= safe && !o.signal.aborted; ) {
        const to = from + BigInt(o.logRange) - 1n < safe ? from + BigInt(o.logRange) - 1n : safe;
        const created = await usersForRange(o, from, to);
        writeCursor(o.stateFile, to);
        if (created) o.log.info({ created, from: from.toString(), to: to.toString() }, 'ldap-connector: users created for claimed jobs');
        from = to + 1n;
      }
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'ldap-connector: round failed; retried');
    }
    await sleep(o.pollMs);
  }
}
