// Compiled artifacts for the tests: rebuilt only when a source is newer than contracts/out.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Abi, Hex } from 'viem';
import { OUT_DIR, buildIfStale } from '../../contracts/build.js';
import type { ContractName } from '../../contracts/compile.js';

export interface TestArtifact {
  abi: Abi;
  bytecode: Hex;
}

export function loadArtifacts(): Record<ContractName, TestArtifact> {
  buildIfStale();
  const read = (name: ContractName) =>
    JSON.parse(readFileSync(path.join(OUT_DIR, `${name}.json`), 'utf8')) as TestArtifact;
  return {
    MetaScheduler: read('MetaScheduler'),
    ProviderManager: read('ProviderManager'),
    ProviderJobQueues: read('ProviderJobQueues'),
    JobRepository: read('JobRepository'),
    Constants: read('Constants'),
    Credit: read('Credit'),
    ErrorContract: read('ErrorContract'),
  };
}
