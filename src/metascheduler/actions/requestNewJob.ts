// requestNewJob.ts - the Meta-Scheduler action requestNewJob(ctx, params).
// Customer: approves the credits if needed, then requests the job; the job is
// PENDING until the oracle assigns it. Its pure encoder,
// encodeRequestNewJob(addresses, params), gives the same transaction as
// calldata for a transaction pipeline.
import { isHex, stringToHex, type Address, type Hex } from 'viem';
import type { MetaSchedulerAddresses, MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { ensureAllowance } from '../internal/allowance.js';
import { encodeCall } from '../internal/encode.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { EncodedCall, JobDefinition, TxResult } from '../types.js';

export interface RequestNewJobParameters {
  definition: JobDefinition;
  /** Credit-wei locked for the job (at least Constants.minimumAmount). */
  lockedCredits: bigint;
  /** bytes32 hex, or a short UTF-8 name (at most 32 bytes) right-padded into bytes32. */
  jobName: string;
  /** Let the grid top the job up from the customer's allowance. */
  delegateSpendingAuthority?: boolean;
}

export interface RequestNewJobResult extends TxResult {
  jobId: Hex;
  customerAddr: Address;
}

export function toJobName(name: string): Hex {
  if (isHex(name) && name.length === 66) return name;
  return stringToHex(name, { size: 32 });
}

const call = (a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: RequestNewJobParameters) =>
  ({
    address: a.metaScheduler,
    abi: metaSchedulerAbi,
    functionName: 'requestNewJob',
    args: [p.definition, p.lockedCredits, toJobName(p.jobName), p.delegateSpendingAuthority ?? false],
  }) as const;

/** Pure: the requestNewJob transaction, for a transaction pipeline (the allowance is the sender's to ensure). */
export function encodeRequestNewJob(a: Pick<MetaSchedulerAddresses, 'metaScheduler'>, p: RequestNewJobParameters): EncodedCall {
  return encodeCall(call(a, p));
}

/** Customer: approves the credits if needed, then requests the job; the job is PENDING until the oracle assigns it. */
export async function requestNewJob(ctx: MetaSchedulerContext, p: RequestNewJobParameters): Promise<RequestNewJobResult> {
  await ensureAllowance(ctx, p.lockedCredits);
  const receipt = await writeAndWait(ctx, call(ctx.addresses, p));
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, ctx.addresses.metaScheduler, 'NewJobRequestEvent')[0];
  if (!ev) throw new Error(`requestNewJob: transaction ${receipt.transactionHash} emitted no NewJobRequestEvent`);
  return { ...txResult(receipt), jobId: ev.args._jobId, customerAddr: ev.args._customerAddr };
}
