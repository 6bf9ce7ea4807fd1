// errors.ts - every failure of a customer action as one sentence that says
// what to do: chain reverts (decoded by src/metascheduler/errors.ts into a
// MetaSchedulerError, here worded for the customer rather than the
// provider), a chain that does not answer, refused scripts and resources.
import { formatUnits, type Address, type Hex } from 'viem';

import { isMetaSchedulerError, isViemError, MetaSchedulerError, toMetaSchedulerError } from '../metascheduler/errors.js';
import { JobStatus, jobStatusName } from '../metascheduler/status.js';
import { isAccountRace } from './tx-retry.js';

export class CustomerError extends Error {
  override readonly name = 'CustomerError';
}

/** What the customer was doing, for the sentence. */
export interface ErrorScene {
  action: 'submit' | 'status' | 'cancel' | 'top-up' | 'logs' | 'follow' | 'list';
  jobId?: Hex | undefined;
  customer?: Address | undefined;
  rpcUrl?: string | undefined;
}

const cr = (wei: unknown) => `${formatUnits(BigInt(wei as bigint), 18)} credits`;
const statusOf = (s: unknown) => jobStatusName(s as JobStatus);
const statusHint = (scene: ErrorScene) => (scene.jobId ? `gridlink job status ${scene.jobId}` : 'gridlink job status');

/** The customer's sentence for a decoded revert. */
export function revertSentence(e: MetaSchedulerError, scene: ErrorScene): string {
  const a = e.args as Record<string, unknown>;
  const job = scene.jobId ? `job ${scene.jobId}` : 'the job';
  switch (e.name) {
    case 'InsufficientFunds':
      if (scene.action === 'submit') return `not enough credits: ${cr(a.available)} where ${cr(a.required)} are needed: lock at least the grid's minimum (--credits) and hold that much on account ${scene.customer ?? 'of your key'} (ask the grid's operator for credits)`;
      return `not enough credits: ${cr(a.available)} where ${cr(a.required)} are needed: lock more credits (--credits or --minutes)`;
    case 'ERC20InsufficientBalance':
      return `not enough credits: account ${String(a.sender)} holds ${cr(a.balance)}, ${cr(a.needed)} are needed: lock fewer (--minutes/--credits) or get credits from the grid's operator`;
    case 'ERC20InsufficientAllowance':
      return `the Meta-Scheduler may spend only ${cr(a.allowance)} of the ${cr(a.needed)} needed (another transaction changed the allowance): run the command again, it approves first`;
    case 'JobHotStatusOnly':
      return `${job} has already ended (${statusOf(a.current)}): nothing to ${scene.action === 'top-up' ? 'top up' : 'cancel'}; its credits were settled when it ended (${statusHint(scene)})`;
    case 'SameStatusError':
      if (scene.action === 'cancel') return `${job} is already cancelled: nothing to do (${statusHint(scene)})`;
      return `${job} already has that status: nothing to do (${statusHint(scene)})`;
    case 'InvalidTransition':
      return `${job} can no longer be ${scene.action === 'cancel' ? 'cancelled' : 'changed'} (it is ending or has ended): see ${statusHint(scene)}`;
    case 'AlreadyDone':
      return `a cancel of ${job} was already requested: its provider stops it and reports its end (follow it with ${statusHint(scene)})`;
    case 'CustomerOnly':
      return `${job} belongs to ${String(a.expected)}, not to your account ${String(a.current)}: use that account's key (--key-file)`;
    case 'InvalidJob':
      return `no job ${scene.jobId ?? ''} on this Meta-Scheduler: check the id (gridlink job status lists your jobs) and --meta-scheduler`.replace('  ', ' ');
    case 'InvalidJobDefinition':
      return 'the grid refused the job definition (zero tasks, CPUs or memory, no script, or a provider price of zero): give --tasks, --cpus-per-task and --mem-per-cpu above 0';
    case 'NewJobRequestDisabled':
      return "the grid's admins have disabled new jobs: try again later or ask them";
    case 'NoProvider':
    case 'ProviderNotJoined':
      return 'no provider matches these resources: ask for fewer tasks, CPUs, memory or GPUs';
    case 'RemainingTimeAboveLimit':
      return `${job} still has ${String(a.remaining)} minutes paid, above the ${String(a.limit)}-minute slice: top it up later`;
    case 'NoSpendingAuthority':
      return `${job} has no delegated spending authority: top it up yourself (gridlink job top-up)`;
    default:
      return e.message;
  }
}

const NET = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|fetch failed|HTTP request failed|took too long|timed out/i;

/** Any failure of a customer action as a CustomerError with one sentence (the original as cause). */
export function explain(err: unknown, scene: ErrorScene): Error {
  if (err instanceof CustomerError) return err;
  if ((err as Error)?.name === 'ScriptError' || (err as Error)?.name === 'ResourceError' || (err as Error)?.name === 'SbatchError') return err as Error;
  const decoded = toMetaSchedulerError(err);
  if (isMetaSchedulerError(decoded)) return new CustomerError(revertSentence(decoded, scene), { cause: err });
  if (isViemError(err) && NET.test(`${err.shortMessage} ${err.message}`)) {
    return new CustomerError(`the chain${scene.rpcUrl ? ` at ${scene.rpcUrl}` : ''} did not answer (${err.shortMessage}): is the RPC URL right (--rpc-url), is the node up?`, { cause: err });
  }
  if (isViemError(err)) {
    const details = (err as { details?: unknown }).details;
    return new CustomerError(`${err.shortMessage.replace(/\.$/, '')}${typeof details === 'string' && details ? `: ${details.split('\n')[0]}` : ''}${isAccountRace(err) ? ' (another transaction of this account got in first: run the command again)' : ''}`, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}
