// choose-transport.ts - the relay's choice of HTTP client for its Transport:
// undici (transport.ts) unless the configuration says http_client=node
// (transport-node.ts).
import { createNodeTransport } from './transport-node.js';
import { createUndiciTransport, type Transport, type TransportOptions } from './transport.js';

export function createTransport(reporterUrl: string, opts: TransportOptions): Transport {
  return opts.httpClient === 'node' ? createNodeTransport(reporterUrl, opts) : createUndiciTransport(reporterUrl, opts);
}
