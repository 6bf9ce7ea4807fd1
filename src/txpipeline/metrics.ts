// metrics.ts - the pipeline's Prometheus metrics, on the registry the caller
// owns (a private one when none is given; never prom-client's global one).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface TxMetrics {
  sent: Counter;
  replaced: Counter;
  rebroadcast: Counter;
  confirmed: Counter;
  reverted: Counter;
  lost: Counter;
  unmined: Counter;
  inFlight: Gauge;
  feeCapHits: Counter;
  rpcErrors: Counter<'class'>;
  handlerErrors: Counter;
  confirmationBlocks: Histogram;
}

/** Same names on the same registry (a second pipeline, a re-open) share the metric objects. */
function reuse<T>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

export function createTxMetrics(registry: Registry): TxMetrics {
  const registers = [registry];
  const counter = (name: string, help: string) => reuse(registry, name, () => new Counter({ name, help, registers }));
  return {
    sent: counter('gridlink_tx_sent_total', 'Transactions signed and accepted by the node for the first time'),
    replaced: counter('gridlink_tx_replaced_total', 'Replacements signed at the same nonce with bumped fees'),
    rebroadcast: counter('gridlink_tx_rebroadcast_total', 'Already-signed attempts sent again (dropped, not yet accepted, after a restart or a reorg)'),
    confirmed: counter('gridlink_tx_confirmed_total', 'Transactions succeeded at the confirmation depth'),
    reverted: counter('gridlink_tx_reverted_total', 'Transactions mined with status 0 (reverted) at the confirmation depth'),
    lost: counter('gridlink_tx_lost_total', 'Transactions whose nonce was consumed by a transaction this store did not sign'),
    unmined: counter('gridlink_tx_unmined_total', 'Mined transactions whose block left the canonical chain (reorg)'),
    inFlight: reuse(registry, 'gridlink_tx_in_flight', () => new Gauge({ name: 'gridlink_tx_in_flight', help: 'Transactions signed and not yet confirmed', registers })),
    feeCapHits: counter('gridlink_tx_fee_cap_hits_total', 'Times the configured maxFeePerGas cap kept a transaction below the fee it needed'),
    rpcErrors: reuse(registry, 'gridlink_tx_rpc_errors_total', () => new Counter({ name: 'gridlink_tx_rpc_errors_total', help: 'RPC errors seen by the transaction pipeline, by class', labelNames: ['class'] as const, registers })),
    handlerErrors: counter('gridlink_tx_handler_errors_total', 'Owner event handlers that threw (the state change is rolled back and retried)'),
    confirmationBlocks: reuse(registry, 'gridlink_tx_confirmation_latency_blocks', () =>
      new Histogram({
        name: 'gridlink_tx_confirmation_latency_blocks',
        help: 'Blocks from the first broadcast of a transaction to its confirmation',
        buckets: [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 200],
        registers,
      })),
  };
}
