import { describe, expect, it } from 'vitest';
import { createPublicClient, http, HttpRequestError, RpcRequestError, TimeoutError, type EIP1193RequestFn } from 'viem';

import { classifyRpcError, isTransient, type RpcErrorClass } from '../../src/txpipeline/errors.js';

/** What a node answers, wrapped as viem wraps a JSON-RPC error. */
const rpcErr = (message: string, code = -32000) =>
  new RpcRequestError({ body: { method: 'eth_sendRawTransaction' }, error: { code, message }, url: 'http://node' });

describe('RPC error classifier', () => {
  const cases: Array<[string, RpcErrorClass]> = [
    // geth / erigon / reth
    ['nonce too low: next nonce 5, tx nonce 3', 'nonce_too_low'],
    ['nonce too high', 'nonce_too_high'],
    ['already known', 'already_known'],
    ['replacement transaction underpriced', 'replacement_underpriced'],
    ['transaction underpriced: tip needed 1, tip permitted 0', 'underpriced'],
    ['max fee per gas less than block base fee: address 0x.., maxFeePerGas: 1 baseFee: 7', 'underpriced'],
    ['insufficient funds for gas * price + value: balance 0, tx cost 1', 'insufficient_funds'],
    ['tx fee (1.20 ether) exceeds the configured cap (1.00 ether)', 'fee_cap_exceeded'],
    ['txpool is full', 'pool_full'],
    ['intrinsic gas too low', 'gas_limit'],
    ['exceeds block gas limit', 'gas_limit'],
    ['execution reverted', 'reverted'],
    ['invalid sender', 'invalid'],
    // anvil
    ['transaction already imported', 'already_known'],
    ['Insufficient funds for gas * price + value', 'insufficient_funds'],
    ['invalid chain id for signer', 'invalid'],
    // nethermind / besu
    ['OldNonce', 'nonce_too_low'],
    ['Nonce too low', 'nonce_too_low'],
    ['AlreadyKnown', 'already_known'],
    ['FeeTooLow, MaxFeePerGas too low', 'underpriced'],
    ['REPLACEMENT_TRANSACTION_UNDERPRICED', 'replacement_underpriced'],
    // providers
    ['Too Many Requests', 'rate_limited'],
    ['the method eth_getBlockReceipts does not exist/is not available', 'unsupported_method'],
  ];
  for (const [msg, cls] of cases) {
    it(`"${msg}" -> ${cls}`, () => {
      expect(classifyRpcError(rpcErr(msg))).toBe(cls);
      expect(classifyRpcError(new Error(msg))).toBe(cls);
    });
  }

  it('JSON-RPC codes without a telling message', () => {
    expect(classifyRpcError(rpcErr('boom', -32601))).toBe('unsupported_method');
    expect(classifyRpcError(rpcErr('boom', -32005))).toBe('rate_limited');
    expect(classifyRpcError(rpcErr('boom', 3))).toBe('reverted');
    expect(classifyRpcError(rpcErr('boom', -32603))).toBe('server');
    expect(classifyRpcError(rpcErr('boom', -32000))).toBe('other');
  });

  it('transport failures: refused connection, HTTP status, timeout', async () => {
    const down = createPublicClient({ transport: http('http://127.0.0.1:1', { retryCount: 0 }) });
    const err = await (down.request as EIP1193RequestFn)({ method: 'eth_blockNumber' }).catch((e: unknown) => e);
    expect(classifyRpcError(err)).toBe('network');
    expect(classifyRpcError(new HttpRequestError({ url: 'http://node', status: 503, details: 'Service Unavailable' }))).toBe('server');
    expect(classifyRpcError(new HttpRequestError({ url: 'http://node', status: 429, details: 'Too Many Requests' }))).toBe('rate_limited');
    expect(classifyRpcError(new TimeoutError({ body: {}, url: 'http://node' }))).toBe('timeout');
    const econn = Object.assign(new Error('connect failed'), { code: 'ECONNRESET' });
    expect(classifyRpcError(new Error('fetch failed', { cause: econn }))).toBe('network');
  });

  it('the request body in a viem message does not mislead it (hex data, URLs)', () => {
    const e = new HttpRequestError({ url: 'http://127.0.0.1:8503', body: { method: 'eth_call', params: [{ data: '0xrevert' }] }, details: 'fetch failed' });
    expect(classifyRpcError(e)).toBe('network');
  });

  it('transient classes are the ones retried as they are', () => {
    expect(isTransient('network')).toBe(true);
    expect(isTransient('server')).toBe(true);
    expect(isTransient('nonce_too_low')).toBe(false);
    expect(isTransient('reverted')).toBe(false);
  });
});
