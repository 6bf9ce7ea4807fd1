// validation.test.ts - the customer's checks that run before anything is
// uploaded or locked (scripts SLURM or the sbatch service would refuse,
// resources, credits and minutes, job ids, the connection and its key) and
// the sentences chain reverts become; `gridlink job submit` refuses a
// hostile script without reaching for a chain.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createPublicClient, encodeErrorResult, http, type Abi, type Hex } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';

import { connectionParameters, parseCredits, parseMinutes } from '../../src/cli/job-connection.js';
import { explain, revertSentence } from '../../src/customer/errors.js';
import { isAccountRace, withTxRetry } from '../../src/customer/tx-retry.js';
import { outputElsewhere, outputPath } from '../../src/customer/output-file.js';
import { parseCount, parseMemSize, toJobDefinition } from '../../src/customer/resources.js';
import { checkScript, MAX_SCRIPT_BYTES } from '../../src/customer/script.js';
import { parseJobId } from '../../src/customer/status.js';
import { errorsAbi } from '../../src/metascheduler/abi.generated.js';
import { decodeRevertData, type MetaSchedulerError } from '../../src/metascheduler/errors.js';
import { cliEntry } from '../../harness/launch/gridlink-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'gl-customer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const JOB = `0x${'ab'.repeat(32)}` as Hex;

describe('scripts', () => {
  it('accepts a batch script and refuses what SLURM or the sbatch service would', () => {
    expect(checkScript('#!/bin/bash\necho hi\n')).toBe('#!/bin/bash\necho hi\n');
    expect(() => checkScript('echo hi\n', 'x.sh')).toThrow(/x\.sh does not start with #!: its first line must name the interpreter/);
    expect(() => checkScript('#!/bin/bash\r\necho hi\r\n', 'x.sh')).toThrow(/x\.sh has DOS line breaks .*dos2unix/);
    expect(() => checkScript('#!/bin/bash\necho \0hi\n')).toThrow(/contains a NUL byte \(at byte 17\)/);
    expect(() => checkScript('')).toThrow(/is empty/);
    expect(() => checkScript(`#!/bin/sh\n${'x'.repeat(MAX_SCRIPT_BYTES)}`)).toThrow(/over SLURM's 4194304-byte limit/);
  });
});

describe('resources and amounts', () => {
  it('reads memory sizes as SLURM writes them, in MB', () => {
    expect(parseMemSize('512')).toBe(512);
    expect(parseMemSize('512M')).toBe(512);
    expect(parseMemSize('2G')).toBe(2048);
    expect(parseMemSize('1.5g')).toBe(1536);
    expect(parseMemSize('1T')).toBe(1024 * 1024);
    expect(parseMemSize('100K')).toBe(1);
    expect(() => parseMemSize('lots')).toThrow(/is not a size: write MB as a number, or with a unit such as 512M or 2G/);
    expect(() => parseMemSize('0')).toThrow(/below 1 MB/);
  });

  it('checks counts, minutes, credits and job ids', () => {
    expect(parseCount('4', '--tasks')).toBe(4);
    expect(() => parseCount('0', '--tasks')).toThrow('--tasks must be between 1 and 1000000, got 0');
    expect(() => parseCount('1.5', '--cpus-per-task')).toThrow(/--cpus-per-task must be a whole number/);
    expect(parseCount('0', '--gpus', 0)).toBe(0);
    expect(parseMinutes('30')).toBe(30);
    expect(() => parseMinutes('0')).toThrow(/at least 1/);
    expect(parseCredits('12.5')).toBe(12_500_000_000_000_000_000n);
    expect(() => parseCredits('-1')).toThrow(/positive number of credits/);
    expect(() => parseCredits('0')).toThrow(/above 0/);
    expect(parseJobId(JOB.toUpperCase().replace('0X', '0x'))).toBe(JOB);
    expect(() => parseJobId('0x1234')).toThrow(/is not a job id: job ids are 0x and 64 hex digits/);
    expect(toJobDefinition({ tasks: 2, cpusPerTask: 3, memPerCpuMB: 64, gpus: 1 }, 'h')).toMatchObject({ ntasks: 2n, cpusPerTask: 3n, memPerCpu: 64n, gpus: 1n, batchLocationHash: 'h' });
  });

  it("fills in the supervisor's output pattern; says where output is on a real grid", () => {
    expect(outputPath('{home}/slurm-%j.out', { slurmJobId: 42, home: '/home/u', user: 'u', name: 'n' })).toBe('/home/u/slurm-42.out');
    expect(outputPath('/out/%u/%x-%j-100%%.log', { slurmJobId: 7, home: '/h', user: 'alice', name: '0xab' })).toBe('/out/alice/0xab-7-100%.log');
    expect(outputElsewhere(null)).toMatch(/written on its provider's cluster.*ask the provider/);
  });
});

const revert = (name: string, args: readonly unknown[] = []): MetaSchedulerError =>
  decodeRevertData(encodeErrorResult({ abi: errorsAbi as Abi, errorName: name, args } as never));

describe('revert sentences', () => {
  const customer = '0x1111111111111111111111111111111111111111';
  it('say what happened and what to do', () => {
    expect(revertSentence(revert('InsufficientFunds', [10n * 10n ** 18n, 100n * 10n ** 18n]), { action: 'submit', customer })).toBe(
      `not enough credits: 10 credits where 100 credits are needed: lock at least the grid's minimum (--credits) and hold that much on account ${customer} (ask the grid's operator for credits)`,
    );
    expect(revertSentence(revert('JobHotStatusOnly', [5]), { action: 'cancel', jobId: JOB })).toBe(`job ${JOB} has already ended (FINISHED): nothing to cancel; its credits were settled when it ended (gridlink job status ${JOB})`);
    expect(revertSentence(revert('JobHotStatusOnly', [6]), { action: 'top-up', jobId: JOB })).toMatch(/already ended \(FAILED\): nothing to top up/);
    expect(revertSentence(revert('CustomerOnly', [customer, '0x2222222222222222222222222222222222222222']), { action: 'cancel', jobId: JOB })).toBe(
      `job ${JOB} belongs to 0x2222222222222222222222222222222222222222, not to your account ${customer}: use that account's key (--key-file)`,
    );
    expect(revertSentence(revert('InvalidJob'), { action: 'status', jobId: JOB })).toMatch(/^no job 0xabab.* on this Meta-Scheduler: check the id \(gridlink job status lists your jobs\)/);
    expect(revertSentence(revert('AlreadyDone'), { action: 'cancel', jobId: JOB })).toMatch(/a cancel of job .* was already requested: its provider stops it/);
    expect(revertSentence(revert('SameStatusError'), { action: 'cancel', jobId: JOB })).toBe(`job ${JOB} is already cancelled: nothing to do (gridlink job status ${JOB})`);
    expect(revertSentence(revert('NoProvider'), { action: 'submit' })).toMatch(/^no provider matches these resources: ask for fewer/);
    expect(revertSentence(revert('NewJobRequestDisabled'), { action: 'submit' })).toMatch(/disabled new jobs: try again later/);
    expect(revertSentence(revert('InvalidJobDefinition'), { action: 'submit' })).toMatch(/give --tasks, --cpus-per-task and --mem-per-cpu above 0/);
  });

  it('a chain that does not answer is named with what to check', async () => {
    const c = createPublicClient({ transport: http('http://127.0.0.1:9', { retryCount: 0, timeout: 2000 }) });
    const err = await c.getBlockNumber().catch((e: unknown) => e);
    expect(explain(err, { action: 'status', rpcUrl: 'http://127.0.0.1:9' }).message).toMatch(/^the chain at http:\/\/127\.0\.0\.1:9 did not answer .*is the RPC URL right \(--rpc-url\), is the node up\?$/);
  });
});

describe('transactions racing on one account', () => {
  it('are retried when another transaction took the nonce or the allowance, not when the contract refuses', async () => {
    const nonce = Object.assign(new Error('Transaction creation failed.'), { shortMessage: 'Transaction creation failed.', version: 'viem@2', details: 'nonce too low', cause: new Error('Nonce provided for the transaction is lower than the current nonce of the account.') });
    expect(isAccountRace(nonce)).toBe(true);
    expect(isAccountRace(revert('ERC20InsufficientAllowance', ['0x1111111111111111111111111111111111111111', 0n, 1n]))).toBe(true);
    expect(isAccountRace(revert('InsufficientFunds', [1n, 2n]))).toBe(false);
    expect(explain(nonce, { action: 'submit' }).message).toBe('Transaction creation failed: nonce too low (another transaction of this account got in first: run the command again)');
    let calls = 0;
    await expect(withTxRetry(async () => (++calls < 3 ? Promise.reject(nonce) : 'mined'))).resolves.toBe('mined');
    expect(calls).toBe(3);
    calls = 0;
    await expect(withTxRetry(async () => (++calls, Promise.reject(revert('InvalidJob'))))).rejects.toThrow(/InvalidJob/);
    expect(calls).toBe(1);
  });
});

describe('connection', () => {
  const base = { state: join(dir, 'no-state.json') };
  it('without a devnet or options says how to get one', () => {
    expect(() => connectionParameters(base)).toThrow(/no devnet is up \(no usable state at .*no-state\.json\) and no --rpc-url given: start one with `npm run devnet`, or pass --rpc-url/);
    expect(() => connectionParameters({ ...base, rpcUrl: 'http://127.0.0.1:8545' })).toThrow(/--meta-scheduler \(GRIDLINK_META_SCHEDULER\) missing/);
  });

  it('applies the provider key rules to the customer key file', () => {
    const key = join(dir, 'customer.key');
    writeFileSync(key, `0x${'11'.repeat(32)}\n`, { mode: 0o644 });
    chmodSync(key, 0o644);
    const o = { ...base, rpcUrl: 'http://127.0.0.1:8545', metaScheduler: '0x5FbDB2315678afecb367f032d93F642f64180aa3', keyFile: key };
    expect(() => connectionParameters(o)).toThrow(/customer key: .*customer\.key.*(mode 0644|readable)/);
    chmodSync(key, 0o600);
    expect(connectionParameters(o)).toMatchObject({ rpcUrl: 'http://127.0.0.1:8545', privateKey: `0x${'11'.repeat(32)}` });
    writeFileSync(key, 'not a key', { mode: 0o600 });
    expect(() => connectionParameters(o)).toThrow(/customer key file .* does not hold a private key/);
  });
});

describe('gridlink job submit', () => {
  it('refuses a hostile script before reaching for a chain', () => {
    const f = join(dir, 'dos.sh');
    writeFileSync(f, '#!/bin/bash\r\necho hi\r\n');
    const r = spawnSync(process.execPath, [...cliEntry(), 'job', 'submit', f, '--no-follow', '--rpc-url', 'http://127.0.0.1:9', '--meta-scheduler', '0x5FbDB2315678afecb367f032d93F642f64180aa3'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, GRIDLINK_CUSTOMER_KEY: `0x${'22'.repeat(32)}` } });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toBe(`gridlink: ${f} has DOS line breaks (CR LF), which SLURM refuses: convert it with dos2unix or sed -i 's/\\r$//'\n`);
    expect(r.stdout).toBe('');
  }, 70_000);
});
