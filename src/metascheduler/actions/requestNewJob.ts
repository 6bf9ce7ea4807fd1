import { isHex, stringToHex, type Address, type Hex } from 'viem';
import type { MetaSchedulerContext } from '../context.js';
import { metaSchedulerAbi } from '../abi.generated.js';
import { ensureAllowance } from '../internal/allowance.js';
import { eventsOf, txResult } from '../internal/events.js';
import { writeAndWait } from '../internal/write.js';
import type { JobDefinition, TxResult } from '../types.js';

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

/** Customer: approves the credits if needed, then requests the job; the job is PENDING until the oracle assigns it. */
export async function requestNewJob(ctx: MetaSchedulerContext, p: RequestNewJobParameters): Promise<RequestNewJobResult> {
  await ensureAllowance(ctx, p.lockedCredits);
  const address = ctx.addresses.metaScheduler;
  const receipt = await writeAndWait(ctx, {
    address,
    abi: metaSchedulerAbi,
    functionName: 'requestNewJob',
    args: [p.definition, p.lockedCredits, toJobName(p.jobName), p.delegateSpendingAuthority ?? false],
  });
  const ev = eventsOf(receipt.logs, metaSchedulerAbi, address, 'NewJobRequestEvent')[0];
  if (!ev) throw new Error(`requestNewJob: transaction ${receipt.transactionHash} emitted no NewJobRequestEvent`);
  return { ...txResult(receipt), jobId: ev.args._jobId, customerAddr: ev.args._customerAddr };
}
