// errors.ts - one place that turns what a JSON-RPC node (or the transport to
// it) answered into a class the pipeline acts on. Node implementations word
// the same condition differently (geth, erigon, nethermind, besu, reth,
// anvil); the patterns below cover the common spellings.

export type RpcErrorClass =
  /** Connection refused/reset, DNS, socket closed: the RPC is unreachable. */
  | 'network'
  | 'timeout'
  /** HTTP 429 or a provider's request limit. */
  | 'rate_limited'
  /** HTTP 5xx or a JSON-RPC internal error. */
  | 'server'
  /** The nonce is already used on chain (maybe by one of our attempts). */
  | 'nonce_too_low'
  | 'nonce_too_high'
  /** The node already has this exact transaction: as good as accepted. */
  | 'already_known'
  /** Another transaction with this nonce is in the pool with fees we did not beat by enough. */
  | 'replacement_underpriced'
  /** The fee is below the base fee or the pool's minimum. */
  | 'underpriced'
  | 'insufficient_funds'
  /** The node refuses fees above its own cap (geth --rpc.txfeecap). */
  | 'fee_cap_exceeded'
  | 'pool_full'
  | 'gas_limit'
  /** The call reverted (simulation or eth_call). */
  | 'reverted'
  | 'unsupported_method'
  /** Malformed or wrongly signed transaction: a bug, not retried blindly. */
  | 'invalid'
  | 'other';

export const RPC_ERROR_CLASSES: readonly RpcErrorClass[] = [
  'network', 'timeout', 'rate_limited', 'server', 'nonce_too_low', 'nonce_too_high', 'already_known',
  'replacement_underpriced', 'underpriced', 'insufficient_funds', 'fee_cap_exceeded', 'pool_full',
  'gas_limit', 'reverted', 'unsupported_method', 'invalid', 'other',
];

/** Order matters: the first match wins (replacement before underpriced, etc.). */
const PATTERNS: ReadonlyArray<[RpcErrorClass, RegExp]> = [
  ['already_known', /already known|already imported|known transaction|alreadyknown|already_exists|transaction already exists|already in (the )?mempool|already in the pool/i],
  ['nonce_too_low', /nonce too low|nonce is too low|oldnonce|nonce has already been used|already been mined|nonce_too_low|transaction nonce is lower|nonce .*lower than (the )?(current|account)/i],
  ['nonce_too_high', /nonce too high|noncegap|nonce gap|future nonce|nonce_too_high/i],
  ['replacement_underpriced', /replacement (transaction )?underpriced|replacement fee too low|replacementunderpriced|replacement_transaction_underpriced|replacement transaction fee too low/i],
  ['insufficient_funds', /insufficient funds|insufficientfunds|insufficient balance|insufficient_funds|not enough funds|sender doesn't have enough funds/i],
  ['fee_cap_exceeded', /exceeds the configured cap|tx fee .* exceeds|fee cap exceeded/i],
  ['underpriced', /underpriced|fee cap less than block base fee|max fee per gas less than block base fee|feecap too low|fee cap too low|feetoolow|fee too low|gas price too low|gas price below|max priority fee per gas higher than max fee|tip above fee cap|less than block base fee/i],
  ['pool_full', /txpool is full|transaction pool is full|pool is full|pool limit|exceeds pool|too many transactions|max txs|txpool_full/i],
  ['gas_limit', /intrinsic gas too (low|high)|exceeds block gas limit|gas limit reached|gas required exceeds|out of gas|gas too low|block gas limit/i],
  ['reverted', /execution reverted|reverted|revert/i],
  ['rate_limited', /rate limit|too many requests|limit exceeded|\b429\b|capacity exceeded|throttl/i],
  ['unsupported_method', /method not found|method .* (does not exist|is not available|not supported)|not supported|unsupported method|unknown method/i],
  ['invalid', /invalid chain id|invalid sender|invalid signature|failed to decode|rlp|invalid transaction|invalid params|invalid argument|only replay-protected/i],
  ['timeout', /timed out|timeout|took too long/i],
  ['network', /fetch failed|econnrefused|econnreset|epipe|enotfound|eai_again|ehostunreach|enetunreach|socket hang up|other side closed|socket closed|connection (refused|reset|closed|terminated)|network error|websocket .*closed|und_err_socket|terminated/i],
  ['server', /internal error|server error|bad gateway|service unavailable|gateway timeout|\b50[0-9]\b/i],
];

interface ErrLike {
  message?: unknown;
  shortMessage?: unknown;
  details?: unknown;
  code?: unknown;
  status?: unknown;
  name?: unknown;
  cause?: unknown;
}

/** Every message, detail, name and code along the error's cause chain. */
export function errorTexts(err: unknown): { text: string; codes: unknown[]; statuses: number[] } {
  const parts: string[] = [];
  const codes: unknown[] = [];
  const statuses: number[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 12; depth++) {
    if (typeof e === 'string') {
      parts.push(e);
      break;
    }
    if (typeof e !== 'object') break;
    const x = e as ErrLike;
    // viem's `message` repeats the request body (hex data, URLs): its short
    // message and details carry what the node or the transport said.
    const message = typeof x.shortMessage === 'string' ? undefined : x.message;
    for (const v of [x.details, x.shortMessage, message, x.name]) if (typeof v === 'string' && v) parts.push(v);
    if (x.code !== undefined) codes.push(x.code);
    if (typeof x.status === 'number') statuses.push(x.status);
    if (e instanceof AggregateError) for (const inner of e.errors) parts.push(errorTexts(inner).text);
    e = x.cause;
  }
  return { text: parts.join(' | '), codes, statuses };
}

/** The class of an RPC or transport error. */
export function classifyRpcError(err: unknown): RpcErrorClass {
  const { text, codes, statuses } = errorTexts(err);
  if (statuses.includes(429) || codes.includes(429)) return 'rate_limited';
  // A transport error (viem HttpRequestError) with a 5xx status and no JSON-RPC error inside.
  const hasRpcCode = codes.some((c) => typeof c === 'number' && c < 0);
  for (const [cls, re] of PATTERNS) if (re.test(text)) return cls;
  if (codes.includes(3)) return 'reverted';
  if (codes.includes(-32601)) return 'unsupported_method';
  if (codes.includes(-32005)) return 'rate_limited';
  if (codes.includes(-32603)) return 'server';
  if (!hasRpcCode && statuses.some((s) => s >= 500)) return 'server';
  if (codes.some((c) => typeof c === 'string' && /^E[A-Z]+$/.test(c))) return 'network';
  if (/HttpRequestError|TimeoutError|SocketClosedError|WebSocketRequestError/.test(text)) return 'network';
  return 'other';
}

/** Classes worth retrying later as they are (the same request may succeed). */
export function isTransient(cls: RpcErrorClass): boolean {
  return cls === 'network' || cls === 'timeout' || cls === 'rate_limited' || cls === 'server' || cls === 'pool_full' || cls === 'other';
}

export { shortError } from '../util/short-error.js';
