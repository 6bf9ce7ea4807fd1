// errors.ts - the Meta-Scheduler's reverts as one typed error class
// (MetaSchedulerError), with what each means for the operator, decoded from
// viem errors or raw revert data.
import { decodeErrorResult, parseAbi, type Abi, type Address, type Hex } from 'viem';
import { errorsAbi } from './abi.generated.js';
import { JobStatus, jobStatusName, toJobStatus } from './status.js';

/**
 * Reverts of the Meta-Scheduler decoded into one typed error class. The
 * contracts revert with custom errors (ErrorContract); OpenZeppelin and
 * Solidity add a few of their own, listed here so an operator never sees a raw
 * selector for the common cases.
 */
const extraErrorsAbi = parseAbi([
  'error AccessControlUnauthorizedAccount(address account, bytes32 neededRole)',
  'error ERC20InsufficientAllowance(address spender, uint256 allowance, uint256 needed)',
  'error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)',
  'error OwnableUnauthorizedAccount(address account)',
]);

const decodeAbi = [...(errorsAbi as Abi), ...extraErrorsAbi] as Abi;

/** Arguments of each known error, with uint8 statuses already converted to JobStatus. */
export interface MetaSchedulerErrorArgs {
  AlreadyDone: Record<string, never>;
  ArrayLengthMismatch: Record<string, never>;
  Banned: Record<string, never>;
  CustomerMetaSchedulerProviderOnly: Record<string, never>;
  CustomerOnly: { current: Address; expected: Address };
  Empty: Record<string, never>;
  InsufficientFunds: { available: bigint; required: bigint };
  InvalidJob: Record<string, never>;
  InvalidJobDefinition: Record<string, never>;
  InvalidNodesCount: Record<string, never>;
  InvalidTotalCpus: Record<string, never>;
  InvalidTotalMem: Record<string, never>;
  InvalidTransition: { from: JobStatus; to: JobStatus };
  JobHotStatusOnly: { current: JobStatus };
  JobProviderOnly: { current: Address; expected: Address };
  MetaScheduledScheduledStatusOnly: { current: JobStatus };
  NewJobRequestDisabled: Record<string, never>;
  NoJob: Record<string, never>;
  NoProvider: Record<string, never>;
  NoSpendingAuthority: Record<string, never>;
  OutOfBounds: Record<string, never>;
  ProviderNotJoined: Record<string, never>;
  RemainingTimeAboveLimit: { remaining: bigint; limit: bigint };
  RunningColdStatusOnly: { current: JobStatus };
  RunningScheduledStatusOnly: { current: JobStatus };
  SameStatusError: Record<string, never>;
  WaitingApprovalOnly: Record<string, never>;
  AccessControlUnauthorizedAccount: { account: Address; neededRole: Hex };
  ERC20InsufficientAllowance: { spender: Address; allowance: bigint; needed: bigint };
  ERC20InsufficientBalance: { sender: Address; balance: bigint; needed: bigint };
  OwnableUnauthorizedAccount: { account: Address };
  /** `require(..., "reason")` / `revert("reason")`. */
  Error: { reason: string };
  /** Solidity panic (overflow, division by zero, ...). */
  Panic: { code: bigint };
  /** Revert data that matches no known error. */
  Unknown: { data: Hex };
}

export type MetaSchedulerErrorName = keyof MetaSchedulerErrorArgs;

/** Errors whose uint8 arguments are job statuses. */
const STATUS_ARGS = new Set(['from', 'to', 'current']);
const STATUS_ERRORS = new Set([
  'InvalidTransition',
  'JobHotStatusOnly',
  'MetaScheduledScheduledStatusOnly',
  'RunningColdStatusOnly',
  'RunningScheduledStatusOnly',
]);

const st = (s: JobStatus) => `${jobStatusName(s)}(${s})`;

/** What happened and what the operator should do about it. */
function describe(name: string, a: Record<string, unknown>): string {
  switch (name) {
    case 'ProviderNotJoined':
      return 'This address is not an approved provider: register it, then ask a Meta-Scheduler admin to approve it.';
    case 'Banned':
      return 'This provider is banned by the Meta-Scheduler admins: contact them; transactions will keep failing.';
    case 'WaitingApprovalOnly':
      return 'The provider is not waiting for approval (not registered, or already approved).';
    case 'NoJob':
      return 'The queue is empty: nothing to claim. Poll again later (check has*Job views first).';
    case 'Empty':
      return 'The queue is empty.';
    case 'SameStatusError':
      return 'The job already has this status: the report is a duplicate and can be dropped.';
    case 'JobHotStatusOnly':
      return `The job is already final (${st(a.current as JobStatus)}): it cannot change anymore. Drop the update and reconcile local state with the chain.`;
    case 'InvalidTransition':
      return `The job cannot go from ${st(a.from as JobStatus)} to ${st(a.to as JobStatus)}. Read the job from the chain and report a status reachable from its current one.`;
    case 'RunningColdStatusOnly':
      return `A provider may only report RUNNING or a final status, not ${st(a.current as JobStatus)}.`;
    case 'RunningScheduledStatusOnly':
      return `The job must be SCHEDULED or RUNNING for this, but it is ${st(a.current as JobStatus)}.`;
    case 'MetaScheduledScheduledStatusOnly':
      return `The job must be META_SCHEDULED or SCHEDULED for this, but it is ${st(a.current as JobStatus)}.`;
    case 'JobProviderOnly':
      return `Only the job's provider ${String(a.expected)} may do this; the sender is ${String(a.current)}. Check which key signs.`;
    case 'CustomerOnly':
      return `Only the job's customer ${String(a.expected)} may do this; the sender is ${String(a.current)}.`;
    case 'CustomerMetaSchedulerProviderOnly':
      return 'Only the customer, the Meta-Scheduler oracle or the job provider may do this.';
    case 'InsufficientFunds':
      return `Not enough credits: ${String(a.available)} available, ${String(a.required)} required. Lock at least the minimum amount and approve the Meta-Scheduler for it.`;
    case 'RemainingTimeAboveLimit':
      return `The job still has ${String(a.remaining)} of credit time left, above the ${String(a.limit)} limit for this operation: retry later.`;
    case 'NoSpendingAuthority':
      return 'The customer did not delegate spending authority for this job.';
    case 'NewJobRequestDisabled':
      return 'New job requests are disabled by the Meta-Scheduler admins.';
    case 'InvalidJobDefinition':
      return 'The job definition is invalid (e.g. zero tasks or cpus): fix it before submitting.';
    case 'InvalidJob':
      return 'No such job id on chain.';
    case 'NoProvider':
      return 'No such provider.';
    case 'InvalidNodesCount':
    case 'InvalidTotalCpus':
    case 'InvalidTotalMem':
    case 'ArrayLengthMismatch':
      return 'The provider hardware is inconsistent (per-node arrays must have `nodes` entries and non-zero totals): fix the registration.';
    case 'AlreadyDone':
      return 'Already done: nothing to change.';
    case 'OutOfBounds':
      return 'Index out of bounds.';
    case 'AccessControlUnauthorizedAccount':
      return `The sender ${String(a.account)} lacks role ${String(a.neededRole)}: use the oracle/admin key for this call.`;
    case 'OwnableUnauthorizedAccount':
      return `The sender ${String(a.account)} is not the owner.`;
    case 'ERC20InsufficientAllowance':
      return `The Meta-Scheduler may spend only ${String(a.allowance)} credits of the ${String(a.needed)} needed: approve more first.`;
    case 'ERC20InsufficientBalance':
      return `The account holds ${String(a.balance)} credits but ${String(a.needed)} are needed.`;
    case 'Error':
      return `Reverted: ${String(a.reason)}.`;
    case 'Panic':
      return `Contract panic (code 0x${(a.code as bigint).toString(16)}): a contract bug or an overflow; report it.`;
    default:
      return `Reverted with unrecognised data ${String(a.data)}.`;
  }
}

export class MetaSchedulerError<N extends MetaSchedulerErrorName = MetaSchedulerErrorName> extends Error {
  override readonly name: N;
  readonly args: MetaSchedulerErrorArgs[N];
  /** The call that reverted, when known (e.g. "claimNextJob"). */
  readonly functionName: string | undefined;
  readonly data: Hex | undefined;

  constructor(opts: {
    name: N;
    args: MetaSchedulerErrorArgs[N];
    functionName?: string | undefined;
    data?: Hex | undefined;
    cause?: unknown;
  }) {
    const where = opts.functionName ? `${opts.functionName}: ` : '';
    super(`${where}${opts.name}: ${describe(opts.name, opts.args as Record<string, unknown>)}`, {
      cause: opts.cause,
    });
    this.name = opts.name;
    this.args = opts.args;
    this.functionName = opts.functionName;
    this.data = opts.data;
  }

  /** Narrows `args` to the named error's shape. */
  is<K extends MetaSchedulerErrorName>(name: K): this is MetaSchedulerError<K> {
    return (this.name as string) === name;
  }
}

export function isMetaSchedulerError<K extends MetaSchedulerErrorName>(
  e: unknown,
  name?: K,
): e is MetaSchedulerError<K> {
  return e instanceof MetaSchedulerError && (name === undefined || e.name === name);
}

/** Decodes raw revert data (selector + args) into a MetaSchedulerError. */
export function decodeRevertData(
  data: Hex,
  opts: { functionName?: string; cause?: unknown } = {},
): MetaSchedulerError {
  const mk = <N extends MetaSchedulerErrorName>(name: N, args: MetaSchedulerErrorArgs[N]) =>
    new MetaSchedulerError({ name, args, data, functionName: opts.functionName, cause: opts.cause });
  if (!data || data === '0x') return mk('Error', { reason: 'execution reverted without data' });
  let decoded;
  try {
    decoded = decodeErrorResult({ abi: decodeAbi, data });
  } catch {
    return mk('Unknown', { data });
  }
  const values = (decoded.args ?? []) as readonly unknown[];
  if (decoded.errorName === 'Error') return mk('Error', { reason: String(values[0]) });
  if (decoded.errorName === 'Panic') return mk('Panic', { code: BigInt(values[0] as bigint | number) });
  const inputs = decoded.abiItem && 'inputs' in decoded.abiItem ? decoded.abiItem.inputs : [];
  const args: Record<string, unknown> = {};
  inputs.forEach((inp, i) => {
    const key = inp.name || String(i);
    const v = values[i];
    args[key] =
      STATUS_ERRORS.has(decoded.errorName) && STATUS_ARGS.has(key) ? toJobStatus(v as number) : v;
  });
  return mk(decoded.errorName as MetaSchedulerErrorName, args as never);
}

/**
 * True for an error thrown by viem, whichever copy of viem threw it. viem's
 * errors carry `shortMessage` and `version` ("viem@2.x.y"); an `instanceof
 * BaseError` would only recognise errors of the copy gridlink itself
 * resolves, and a consumer's clients may come from another copy (another
 * version, or a second install of the same one).
 */
export function isViemError(err: unknown): err is Error & { shortMessage: string; version: string; cause?: unknown } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { shortMessage?: unknown; version?: unknown; walk?: unknown };
  return (
    typeof e.shortMessage === 'string' &&
    ((typeof e.version === 'string' && e.version.startsWith('viem@')) || typeof e.walk === 'function')
  );
}

/**
 * viem's BaseError.walk without the class: visits `err` and its `cause`
 * chain and returns the first link `fn` accepts (null when none does).
 */
export function walkErrorChain(err: unknown, fn: (e: unknown) => boolean): unknown {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e !== undefined && e !== null && !seen.has(e)) {
    if (fn(e)) return e;
    seen.add(e);
    e = typeof e === 'object' && 'cause' in e ? (e as { cause?: unknown }).cause : undefined;
  }
  return null;
}

const isHex = (v: unknown): v is Hex => typeof v === 'string' && v.startsWith('0x');

/** Finds the revert data inside a viem error chain (call, estimateGas or send), from any copy of viem. */
export function findRevertData(err: unknown): Hex | undefined {
  if (!isViemError(err)) return undefined;
  let found: Hex | undefined;
  walkErrorChain(err, (e) => {
    if (typeof e !== 'object' || e === null) return false;
    const anyE = e as { raw?: unknown; data?: unknown };
    if (isHex(anyE.raw)) found = anyE.raw;
    else if (isHex(anyE.data)) found = anyE.data;
    else if (anyE.data && typeof anyE.data === 'object' && 'data' in anyE.data && isHex((anyE.data as { data?: unknown }).data)) {
      found = (anyE.data as { data: Hex }).data;
    }
    return found !== undefined;
  });
  return found;
}

/**
 * Turns whatever a viem call threw into a MetaSchedulerError when it is a
 * contract revert; other failures (network, nonce, ...) are returned as is so
 * callers can retry them.
 */
export function toMetaSchedulerError(err: unknown, functionName?: string): unknown {
  if (err instanceof MetaSchedulerError) return err;
  const data = findRevertData(err);
  if (data !== undefined && data.length >= 10) return decodeRevertData(data, { functionName, cause: err });
  if (isViemError(err)) {
    // A revert without data (require with no message, or a failed assert in old solc).
    const reverted =
      walkErrorChain(err, (e) => (e as { name?: unknown } | null)?.name === 'ContractFunctionRevertedError') !== null;
    if (reverted) {
      const withReason = walkErrorChain(err, (e) => typeof e === 'object' && e !== null && (e as { reason?: unknown }).reason !== undefined);
      const reason = (withReason as { reason?: string } | null)?.reason;
      return new MetaSchedulerError({
        name: 'Error',
        args: { reason: reason ?? 'execution reverted without data' },
        functionName,
        cause: err,
      });
    }
  }
  return err;
}
