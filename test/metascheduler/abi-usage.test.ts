// The client must speak the deployed ABI: every item it encodes or decodes
// must exist in ../shared/abi with the same types AND names (viem builds
// struct and event-argument objects from the names). Read in place, never copied.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Abi } from 'viem';
import * as generated from '../../src/metascheduler/abi.generated.js';
import { skipReason } from '../helpers/skip-reason.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sharedDir = [path.resolve(here, '..', '..', '..', 'shared', 'abi'), '/work/shared/abi'].find((d) => existsSync(d));

function shared(file: string): Abi {
  const parsed = JSON.parse(readFileSync(path.join(sharedDir!, file), 'utf8')) as Abi | { abi: Abi };
  return Array.isArray(parsed) ? parsed : (parsed as { abi: Abi }).abi;
}

/** Drops what does not reach the wire or the decoded shape (internalType). */
function normalize(x: unknown): unknown {
  if (Array.isArray(x)) return x.map(normalize);
  if (x && typeof x === 'object') {
    return Object.fromEntries(
      Object.entries(x)
        .filter(([k]) => k !== 'internalType')
        .map(([k, v]) => [k, normalize(v)]),
    );
  }
  return x;
}

function item(abi: Abi, type: string, name: string): unknown {
  const found = abi.find((i) => i.type === type && 'name' in i && i.name === name);
  if (!found || type !== 'function') return found;
  // Function arguments are positional and results come back positionally, so
  // top-level parameter names never reach the wire or the decoded value
  // (struct component names do, and are kept).
  const f = found as { inputs: readonly object[]; outputs: readonly object[] };
  const unname = (ps: readonly object[]) => ps.map((p) => ({ ...p, name: '' }));
  return { ...found, inputs: unname(f.inputs), outputs: unname(f.outputs) };
}

const USED: { ours: Abi; file: string; items: [type: string, name: string][] }[] = [
  {
    ours: generated.metaSchedulerAbi as Abi,
    file: 'MetaScheduler.json',
    items: [
      ...['credit', 'constants', 'providerManager', 'providerJobQueues', 'jobs', 'claimNextJob', 'claimNextCancellingJob',
        'claimNextTopUpJob', 'providerSetJobStatus', 'refuseJob', 'requestNewJob', 'cancelJob', 'topUpJob', 'metaSchedule',
        'timeoutJob', 'panicJob', 'hasRole'].map((n) => ['function', n] as [string, string]),
      ...['ClaimJobEvent', 'ClaimNextCancellingJobEvent', 'ClaimNextTopUpJobEvent', 'JobRefusedEvent', 'NewJobRequestEvent',
        'BilledTooMuchEvent'].map((n) => ['event', n] as [string, string]),
    ],
  },
  {
    ours: generated.providerManagerAbi as Abi,
    file: 'IProviderManager.json',
    items: [
      ['function', 'register'], ['function', 'approve'], ['function', 'getProvider'], ['function', 'isValidForScheduling'],
      ['event', 'ProviderWaitingForApproval'], ['event', 'ProviderApproved'],
    ],
  },
  {
    ours: generated.providerJobQueuesAbi as Abi,
    file: 'IProviderJobQueues.json',
    items: [['function', 'hasNextClaimableJob'], ['function', 'hasCancellingJob'], ['function', 'hasTopUpJob']],
  },
  { ours: generated.jobRepositoryAbi as Abi, file: 'IJobRepository.json', items: [['function', 'get'], ['event', 'JobTransitionEvent']] },
  {
    ours: generated.constantsAbi as Abi,
    file: 'Constants.json',
    items: [['function', 'minimumAmount'], ['function', 'billDurationDeltaMinute'], ['function', 'deepsquareCut'], ['function', 'topUpSliceDurationMin']],
  },
  { ours: generated.creditAbi as Abi, file: 'IERC20.json', items: [['function', 'approve'], ['function', 'allowance'], ['function', 'balanceOf']] },
];

describe.skipIf(!sharedDir)(`client ABI usage matches the deployed ABI${skipReason(!!sharedDir, '../shared/abi (the deployed ABI) is not beside the checkout')}`, () => {
  for (const { ours, file, items } of USED) {
    for (const [type, name] of items) {
      it(`${file} ${type} ${name}`, () => {
        const want = item(shared(file), type, name);
        expect(want, `${name} missing from the deployed ${file}`).toBeDefined();
        // Event argument names are kept: viem decodes event args into objects keyed by them.
        expect(normalize(item(ours, type, name))).toEqual(normalize(want));
      });
    }
  }

  it('every deployed custom error decodes with the same signature', () => {
    const deployed = shared('ErrorContract.json').filter((i) => i.type === 'error');
    const ours = (generated.errorsAbi as Abi).filter((i) => i.type === 'error');
    for (const e of deployed) {
      expect(normalize(ours.find((o) => 'name' in o && o.name === e.name)), e.name).toEqual(normalize(e));
    }
  });
});
