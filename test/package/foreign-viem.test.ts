// Revert decoding with an error thrown by another copy of viem (a consumer's
// own install): a second, real copy of viem is loaded from a temp dir, a
// contract read reverts through it, and gridlink's decoder still names the error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BaseError, encodeErrorResult, parseAbi } from 'viem';
import { isMetaSchedulerError, toMetaSchedulerError } from '../../src/metascheduler/errors.js';
import { JobStatus } from '../../src/metascheduler/status.js';

const require = createRequire(import.meta.url);
const ourViemDir = path.dirname(require.resolve('viem/package.json'));
const abi = parseAbi([
  'function claimNextJob() view returns (bytes32)',
  'error ProviderNotJoined()',
  'error InvalidTransition(uint8 from, uint8 to)',
]);

/** Where Node finds `dep` from our viem: its own node_modules, then each parent's. */
function moduleDir(dep: string): string {
  for (let d = ourViemDir; ; d = path.dirname(d)) {
    const candidate = path.join(d, 'node_modules', dep);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(d) === d) throw new Error(`viem's dependency ${dep} not found`);
  }
}

let dir: string;
let foreign: typeof import('viem');

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gridlink-foreign-viem-'));
  const modules = path.join(dir, 'node_modules');
  const copy = path.join(modules, 'viem');
  mkdirSync(copy, { recursive: true });
  // A copy, not a symlink: Node resolves symlinks to the real path, which would load our viem again.
  const pkg = JSON.parse(readFileSync(path.join(ourViemDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  writeFileSync(path.join(copy, 'package.json'), JSON.stringify(pkg));
  cpSync(path.join(ourViemDir, '_esm'), path.join(copy, '_esm'), { recursive: true });
  for (const dep of Object.keys(pkg.dependencies)) {
    const target = moduleDir(dep);
    mkdirSync(path.dirname(path.join(modules, dep)), { recursive: true });
    symlinkSync(target, path.join(modules, dep), 'dir');
  }
  foreign = (await import(pathToFileURL(path.join(copy, '_esm', 'index.js')).href)) as typeof import('viem');
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A contract read through the foreign viem, against a node that reverts with `data`. */
async function revertThroughForeignViem(data: string): Promise<unknown> {
  const client = foreign.createPublicClient({
    transport: foreign.custom(
      {
        async request({ method }: { method: string }) {
          if (method === 'eth_call') throw Object.assign(new Error('execution reverted'), { code: 3, data });
          if (method === 'eth_chainId') return '0x7a69';
          throw new Error(`unexpected ${method}`);
        },
      },
      { retryCount: 0 },
    ),
  });
  return client
    .readContract({ address: '0x00000000000000000000000000000000000000aa', abi, functionName: 'claimNextJob' })
    .then(() => new Error('did not revert'), (e: unknown) => e);
}

describe('revert decoding across copies of viem', () => {
  it('the copy is another viem (its errors are not our BaseError)', async () => {
    expect(foreign.BaseError).not.toBe(BaseError);
    const err = await revertThroughForeignViem(encodeErrorResult({ abi, errorName: 'ProviderNotJoined' }));
    expect(err).toBeInstanceOf(foreign.BaseError);
    expect(err).not.toBeInstanceOf(BaseError);
  });

  it('decodes a custom error thrown through the other copy', async () => {
    const err = await revertThroughForeignViem(encodeErrorResult({ abi, errorName: 'ProviderNotJoined' }));
    const m = toMetaSchedulerError(err, 'claimNextJob');
    expect(isMetaSchedulerError(m, 'ProviderNotJoined')).toBe(true);
    expect((m as Error).message).toMatch(/^claimNextJob: ProviderNotJoined: /);
  });

  it('decodes arguments (statuses) thrown through the other copy', async () => {
    const data = encodeErrorResult({ abi, errorName: 'InvalidTransition', args: [JobStatus.RUNNING, JobStatus.PENDING] });
    const m = toMetaSchedulerError(await revertThroughForeignViem(data));
    expect(isMetaSchedulerError(m, 'InvalidTransition')).toBe(true);
    if (isMetaSchedulerError(m, 'InvalidTransition')) expect(m.args).toEqual({ from: JobStatus.RUNNING, to: JobStatus.PENDING });
  });

  it('leaves a foreign non-revert error (network) as it is', async () => {
    const client = foreign.createPublicClient({
      transport: foreign.http('http://127.0.0.1:1', { retryCount: 0 }),
    });
    const err = await client
      .readContract({ address: '0x00000000000000000000000000000000000000aa', abi, functionName: 'claimNextJob' })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(foreign.BaseError);
    expect(toMetaSchedulerError(err)).toBe(err);
  });
});
