// transport-node.ts - the Transport over Node's own http/https client: one
// keep-alive socket to the reporter. The embedded runtime's default (see
// transport.ts for why). Node's client does not pipeline: posts made while
// one is on its way wait in the agent's queue and go out in order.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

import { AUTH_HEADER } from './protocol.js';
import { classify, ingestUrl, readLimited, withDeadline, type Transport } from './transport.js';

export function createNodeTransport(reporterUrl: string, opts: { requestTimeoutMs: number }): Transport {
  const url = ingestUrl(reporterUrl);
  const https = url.protocol === 'https:';
  const agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const send = https ? httpsRequest : httpRequest;
  /** Requests on the socket or queued for it. */
  const open = new Set<ClientRequest>();

  function post(body: Uint8Array, auth: string, signal?: AbortSignal) {
    return withDeadline(url, opts.requestTimeoutMs, signal, (abort) =>
      new Promise((resolve, reject) => {
        const req = send(
          url,
          {
            method: 'POST',
            agent,
            signal: abort,
            headers: { 'content-type': 'application/json', 'content-length': body.byteLength, [AUTH_HEADER]: auth },
          },
          (res: IncomingMessage) => {
            readLimited(res).then((text) => resolve(classify(res.statusCode ?? 0, text, url.href)), reject);
          },
        );
        open.add(req);
        req.once('close', () => open.delete(req));
        req.on('error', reject);
        req.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      }),
    );
  }

  return {
    post,
    async reset() {
      for (const req of open) req.destroy(new Error('connection dropped by the relay after a failed batch'));
      open.clear();
      agent.destroy();
    },
    async close() {
      agent.destroy();
    },
  };
}
