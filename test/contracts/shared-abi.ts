// Locates and reads the deployed reference ABIs (../shared/abi beside the repo).
// They are reference data: read in place, never copied into the repo.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Abi } from 'viem';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function sharedAbiDir(): string {
  const candidates = [path.resolve(REPO_ROOT, '..', 'shared', 'abi'), '/work/shared/abi'];
  const found = candidates.find((d) => existsSync(d));
  if (!found) throw new Error(`shared ABI directory not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function sharedAbiFiles(): string[] {
  return readdirSync(sharedAbiDir())
    .filter((f) => f.endsWith('.json'))
    .sort();
}

export function readSharedAbi(file: string): Abi {
  const parsed = JSON.parse(readFileSync(path.join(sharedAbiDir(), file), 'utf8')) as Abi | { abi: Abi };
  return Array.isArray(parsed) ? (parsed as Abi) : (parsed as { abi: Abi }).abi;
}
