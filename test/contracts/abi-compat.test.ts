// The project's contracts must expose every function, event and error of the
// deployed ABI with the same selector / topic, so the client built against
// ../shared/abi talks to the devnet unchanged.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Abi,
  type AbiEvent,
  type AbiFunction,
  type AbiParameter,
  toEventSelector,
  toFunctionSelector,
} from 'viem';
import { canonicalType } from '../../contracts/build.js';
import type { ContractName } from '../../contracts/compile.js';
import { type TestArtifact, loadArtifacts } from './artifacts.js';
import { readSharedAbi, sharedAbiFiles } from './shared-abi.js';

/** Which compiled contract implements each deployed ABI file. */
const IMPLEMENTED_BY: Record<string, ContractName> = {
  'MetaScheduler.json': 'MetaScheduler',
  'IProviderManager.json': 'ProviderManager',
  'IProviderJobQueues.json': 'ProviderJobQueues',
  'IJobRepository.json': 'JobRepository',
  'Constants.json': 'Constants',
  'ErrorContract.json': 'ErrorContract',
  'IERC20.json': 'Credit',
};

type AbiError = Extract<Abi[number], { type: 'error' }>;
type Item = AbiFunction | AbiEvent | AbiError;


function key(item: Item): string {
  if (item.type === 'event') return `event ${toEventSelector(item)}`;
  if (item.type === 'function') return `function ${toFunctionSelector(item)}`;
  // Error selectors are computed like function selectors, from the canonical signature.
  return `error ${toFunctionSelector(`${item.name}(${item.inputs.map(canonicalType).join(',')})`)}`;
}

/**
 * What a client decodes beyond the selector: return types of functions and
 * indexed flags of events. A match on the selector alone would let a changed
 * return tuple or indexing through.
 */
function shape(item: Item): string {
  if (item.type === 'function') return item.outputs.map(canonicalType).join(',');
  if (item.type === 'event') return item.inputs.map((i) => `${canonicalType(i)}${i.indexed ? ' indexed' : ''}`).join(',');
  return '';
}

function label(item: Item): string {
  return `${item.type} ${item.name}(${item.inputs.map(canonicalType).join(',')})`;
}

function checkable(abi: Abi): Item[] {
  return abi.filter((i): i is Item => i.type === 'function' || i.type === 'event' || i.type === 'error');
}

describe('ABI compatibility with ../shared/abi', () => {
  let compiled: Record<ContractName, TestArtifact>;

  beforeAll(() => {
    compiled = loadArtifacts();
  });

  it('maps every shared ABI file to a project contract', () => {
    const unmapped = sharedAbiFiles().filter((f) => !(f in IMPLEMENTED_BY));
    expect(unmapped).toEqual([]);
  });

  for (const [file, contract] of Object.entries(IMPLEMENTED_BY)) {
    it(`${contract} implements ${file}`, () => {
      const ours = new Map(checkable(compiled[contract].abi).map((i) => [key(i), i]));
      const expected = checkable(readSharedAbi(file));
      expect(expected.length).toBeGreaterThan(0);

      const missing: string[] = [];
      const mismatched: string[] = [];
      for (const item of expected) {
        const mine = ours.get(key(item));
        if (!mine) missing.push(label(item));
        else if (shape(mine) !== shape(item)) mismatched.push(`${label(item)}: ours ${shape(mine)}, deployed ${shape(item)}`);
      }
      // A thrown message, not a diff: vitest truncates long values, and the
      // point of this test is to name every offender.
      const report = [
        ...missing.map((m) => `missing from ${contract}: ${m}`),
        ...mismatched.map((m) => `differs in ${contract}: ${m}`),
      ];
      if (report.length > 0) throw new Error(`${file} vs ${contract}:\n${report.join('\n')}`);
    });
  }

  it('has the constructor wiring of the deployed MetaScheduler', () => {
    const ctor = (abi: Abi) => abi.find((i) => i.type === 'constructor')?.inputs.map((p: AbiParameter) => canonicalType(p));
    expect(ctor(compiled.MetaScheduler.abi)).toEqual(ctor(readSharedAbi('MetaScheduler.json')));
  });
});
