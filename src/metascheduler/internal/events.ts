// events.ts - decoding a receipt's logs of one event from one contract, and a
// receipt's summary (hash, block, gas).
import { isAddressEqual, parseEventLogs, type Abi, type Address, type ContractEventName, type Log, type ParseEventLogsReturnType } from 'viem';
import type { TxResult } from '../types.js';
import type { TransactionReceipt } from 'viem';

/**
 * Decodes the receipt's logs of one event emitted by one contract. Filtering
 * on the emitter matters: the parts emit events too, and a foreign contract
 * could emit a look-alike.
 */
export function eventsOf<const abi extends Abi, name extends ContractEventName<abi>>(
  logs: readonly Log[],
  abi: abi,
  emitter: Address,
  eventName: name,
): ParseEventLogsReturnType<abi, name, true, name> {
  const own = logs.filter((l) => isAddressEqual(l.address, emitter));
  return parseEventLogs({ abi, logs: own as Log[], eventName, strict: true }) as unknown as ParseEventLogsReturnType<abi, name, true, name>;
}

export function txResult(r: TransactionReceipt): TxResult {
  return { hash: r.transactionHash, blockNumber: r.blockNumber, gasUsed: r.gasUsed };
}
