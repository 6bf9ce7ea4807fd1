// tx-retry.ts - a customer's transactions when the same account sends others
// at the same time (two `gridlink job submit` at once): a nonce another
// transaction took, or an allowance another request consumed (ERC-20 approve
// sets, it does not add), is retried after a short random pause; the
// contract's own refusals are not.
import { isMetaSchedulerError, walkErrorChain } from '../metascheduler/errors.js';

const RACE = /nonce too low|nonce has already been used|nonce.*(lower|already)|replacement transaction underpriced|already known|transaction underpriced/i;

/** True for a failure caused by another transaction of the same account. */
export function isAccountRace(err: unknown): boolean {
  if (isMetaSchedulerError(err, 'ERC20InsufficientAllowance')) return true;
  return (
    walkErrorChain(err, (e) => {
      if (typeof e !== 'object' || e === null) return false;
      const x = e as { message?: unknown; details?: unknown; name?: unknown };
      return x.name === 'NonceTooLowError' || RACE.test(`${String(x.message ?? '')} ${String(x.details ?? '')}`);
    }) !== null
  );
}

export async function withTxRetry<T>(fn: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !isAccountRace(e)) throw e;
      await new Promise((r) => setTimeout(r, 200 + Math.random() * 800 * i));
    }
  }
}
