// Compiles contracts/*.sol with the solc-js pinned in package.json, offline.
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export const CONTRACTS_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.dirname(CONTRACTS_DIR);

/** EIP-170: anvil (like mainnet) refuses larger runtime code unless told otherwise. */
export const MAX_RUNTIME_BYTES = 24_576;

/** The contracts the project deploys or whose ABI it publishes. */
export const CONTRACT_NAMES = [
  'MetaScheduler',
  'ProviderManager',
  'ProviderJobQueues',
  'JobRepository',
  'Constants',
  'Credit',
  'ErrorContract',
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface Artifact {
  abi: readonly Record<string, unknown>[];
  bytecode: `0x${string}`;
  /** Runtime code size in bytes, for the EIP-170 check. */
  runtimeSize: number;
}

interface SolcOutput {
  errors?: { severity: 'error' | 'warning' | 'info'; formattedMessage: string }[];
  contracts?: Record<
    string,
    Record<string, { abi: Record<string, unknown>[]; evm: { bytecode: { object: string }; deployedBytecode: { object: string } } }>
  >;
}

interface Solc {
  version(): string;
  compile(input: string, callbacks: { import(p: string): { contents: string } | { error: string } }): string;
}

export class CompileError extends Error {}

function pinnedSolcVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
    devDependencies?: Record<string, string>;
  };
  const v = pkg.devDependencies?.solc;
  if (!v) throw new CompileError('package.json has no devDependencies.solc');
  return v.replace(/^[~^=]/, '');
}

function loadSolc(): Solc {
  const solc = require('solc') as Solc;
  const want = pinnedSolcVersion();
  // solc-js reports e.g. "0.8.28+commit.7893614a.Emscripten.clang".
  if (!solc.version().startsWith(`${want}+`)) {
    throw new CompileError(`solc-js is ${solc.version()} but package.json pins ${want}: run npm install`);
  }
  return solc;
}

// Imports resolve from contracts/ first, then node_modules (OpenZeppelin).
function resolveImport(importPath: string): { contents: string } | { error: string } {
  const candidates = [path.join(CONTRACTS_DIR, importPath), path.join(REPO_ROOT, 'node_modules', importPath)];
  for (const c of candidates) {
    if (existsSync(c)) return { contents: readFileSync(c, 'utf8') };
  }
  return { error: `import not found: ${importPath} (looked in contracts/ and node_modules/)` };
}

export function solSources(): string[] {
  return readdirSync(CONTRACTS_DIR)
    .filter((f) => f.endsWith('.sol'))
    .sort();
}

/** Compiles every contracts/*.sol; throws CompileError carrying solc's messages. */
export function compileContracts(): Record<ContractName, Artifact> {
  const solc = loadSolc();
  const sources: Record<string, { content: string }> = {};
  for (const f of solSources()) sources[f] = { content: readFileSync(path.join(CONTRACTS_DIR, f), 'utf8') };

  const input = {
    language: 'Solidity',
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: resolveImport })) as SolcOutput;
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  for (const w of (output.errors ?? []).filter((e) => e.severity === 'warning')) console.warn(w.formattedMessage);
  if (errors.length > 0) {
    throw new CompileError(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
  }

  const result = {} as Record<ContractName, Artifact>;
  for (const name of CONTRACT_NAMES) {
    const c = output.contracts?.[`${name}.sol`]?.[name];
    if (!c) throw new CompileError(`solc produced no contract ${name} (expected in contracts/${name}.sol)`);
    result[name] = {
      abi: c.abi,
      bytecode: `0x${c.evm.bytecode.object}`,
      runtimeSize: c.evm.deployedBytecode.object.length / 2,
    };
  }
  return result;
}
