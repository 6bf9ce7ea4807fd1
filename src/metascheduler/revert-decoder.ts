// revert-decoder.ts - the Meta-Scheduler's reverts for a transaction pipeline
// (src/txpipeline knows no contract; the process that opens it passes this):
// a simulation's or a replay's error, stored revert data or a bare reason
// become a typed MetaSchedulerError, and a stored transaction's calldata
// names its function.
import { decodeFunctionData, type Abi, type Hex } from 'viem';

import { metaSchedulerAbi, providerManagerAbi } from './abi.generated.js';
import { MetaSchedulerError, decodeRevertData, toMetaSchedulerError } from './errors.js';

/** The contracts whose calls a provider's pipeline sends (the Meta-Scheduler's, then the provider registry's). */
const CALLED_ABIS: readonly Abi[] = [metaSchedulerAbi as Abi, providerManagerAbi as Abi];

/** The called function's name from calldata (undefined when no known contract has that selector). */
export function functionNameOfCalldata(data: Hex): string | undefined {
  if (data.length < 10) return undefined;
  for (const abi of CALLED_ABIS) {
    try {
      return decodeFunctionData({ abi, data }).functionName;
    } catch {
      // not this contract's
    }
  }
  return undefined;
}

/** What TxPipeline.open takes as `revertDecoder` for Meta-Scheduler transactions (shaped as src/txpipeline's RevertDecoder). */
export const metaSchedulerReverts = {
  fromError(err: unknown, functionName: string | undefined): MetaSchedulerError | undefined {
    const m = toMetaSchedulerError(err, functionName);
    return m instanceof MetaSchedulerError ? m : undefined;
  },
  fromData(data: Hex, functionName: string | undefined): MetaSchedulerError {
    return decodeRevertData(data, { functionName });
  },
  fromReason(reason: string, functionName: string | undefined, cause?: unknown): MetaSchedulerError {
    return new MetaSchedulerError({ name: 'Error', args: { reason }, functionName, cause });
  },
  functionName: functionNameOfCalldata,
};
