// The transaction pipeline: one per signing key; see pipeline.ts.
export { TxPipeline, ChainIdMismatchError, FILLER_KIND } from './pipeline.js';
export type {
  RevertDecoder,
  RevertError,
  SubmitOptions,
  SubmitOutcome,
  TxEvent,
  TxEventHandler,
  TxInfo,
  TxPipelineHealth,
  TxPipelineOptions,
  TxRecord,
  TxRequest,
  TxState,
} from './types.js';
export { classifyRpcError, isTransient, RPC_ERROR_CLASSES, type RpcErrorClass } from './errors.js';
export { bumpFees, bump125, gasWithMargin, includable, initialFees, type Fees } from './fees.js';
export { SigningError, TxSigner } from './signer.js';
export { TX_SCHEMA_V1 } from './schema.js';
