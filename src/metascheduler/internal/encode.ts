// encode.ts - a write action's call (contract, ABI, function, arguments) as an
// EncodedCall: the one encoding step behind every action's pure encoder.
import { encodeFunctionData, type Abi, type ContractFunctionName } from 'viem';

import type { EncodedCall } from '../types.js';
import type { Writable, WriteCall } from './write.js';

export function encodeCall<const abi extends Abi, fn extends ContractFunctionName<abi, Writable>>(call: WriteCall<abi, fn>): EncodedCall {
  // viem's generic inference does not survive this indirection; the call shape is checked by WriteCall.
  const data = encodeFunctionData({ abi: call.abi as Abi, functionName: call.functionName as string, args: call.args as readonly unknown[] } as never);
  return { to: call.address, data, functionName: call.functionName };
}
