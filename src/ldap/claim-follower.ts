// claim-follower.ts - `gridlink ldap-connector run`: reads the
// MetaScheduler's ClaimJobEvent logs for one provider and makes sure each
// claimed job's customer has a user, ahead of the supervisor. The cursor (the
// last block whose customers all have users) is written only after they do,
// so a kill at any instant re-reads at most one range; ensureUser is
// idempotent. A customer whose address cannot be a user is logged and
// skipped; anything retryable (directory down) stops the range and it is
// read again after pollMs.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { dirname } from 'node:path';

import { getAbiItem, isAddressEqual, parseEventLogs, type Address, type Log, type PublicClient } from 'viem';
import type { Logger } from 'pino';

import { metaSchedulerAbi } from '../metascheduler/abi.generated.js';
import type { LdapConnector } from './connector.js';
import { inParallel } from '../util/in-parallel.js';
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

/** The last block done; undefined only when the file does not exist (a first start). */
function readCursor(file: string): bigint | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read the cursor ${file}: ${(err as Error).message}`);
  }
  const v = (() => {
    try {
      return (JSON.parse(text) as { block?: unknown }).block;
    } catch {
      return undefined;
    }
  })();
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new Error(`the cursor ${file} is damaged (${JSON.stringify(text.slice(0, 80))}): set follow.fromBlock and delete it to start again from there`);
  return BigInt(v);
}

function writeCursor(file: string, block: bigint): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify({ block: block.toString() }) + '\n');
    fsyncSync(fd); // the rename must never expose an empty file after a power loss
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Users for the customers claimed in [from, to]; throws on anything retryable. */
async function usersForRange(o: ClaimFollowerOptions, from: bigint, to: bigint): Promise<number> {
  const logs = await o.publicClient.getLogs({ address: o.metaScheduler, event: CLAIM, fromBlock: from, toBlock: to, strict: false } as never);
  const customers = new Set<Address>();
  for (const l of parseEventLogs({ abi: metaSchedulerAbi, logs: logs as Log[], eventName: 'ClaimJobEvent', strict: true })) {
    if (!l.removed && isAddressEqual(l.args.providerAddr, o.provider)) customers.add(l.args.customerAddr);
  }
  let created = 0;
  await inParallel([...customers], o.concurrency, async (customer) => {
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
  const sleep = (ms: number) => sleepFor(ms, undefined, { signal: o.signal }).catch(() => undefined);
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
