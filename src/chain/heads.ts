// heads.ts - the process's one WebSocket subscription to new heads
// (eth_subscribe newHeads), shared by everything that wants to be woken at
// each block (the transaction pipeline, the supervisor's chain loop). The
// composition root (startSupervisor, startReporter) creates it, hands it to
// each subscriber and closes it last. Polling goes on regardless: a head is
// only a reason to poll at once.
//
// One socket per process, owned here: viem shares its WebSocket clients per
// URL and options, so two watchers on one URL started together opened two
// sockets and a stop() closed only one; the other's keep-alive interval held
// the process after SIGTERM. Here there is no keep-alive timer and no viem
// reconnect (it prints to the console); a subscription silent while polling
// sees blocks is opened again (check()), and close() ends the socket at once.
import { hexToBigInt, type Hex } from 'viem';
import { getWebSocketRpcClient } from 'viem/utils';
import type { Logger } from 'pino';

import { shortError } from '../util/short-error.js';

/** A subscription silent this long while polling sees blocks is opened again. */
const STALE_MS = 30_000;

type RpcClient = Awaited<ReturnType<typeof getWebSocketRpcClient>>;

/** What a subscriber sees: a callback per new head, and the staleness check after its own polls. */
export interface NewHeads {
  /** Calls `fn` with the block number of each new head; returns the unsubscribe function. */
  onHead(fn: (block: bigint) => void): () => void;
  /** After a poll: `advanced` when polling saw a new block. Re-subscribes when no head came over the socket for a while. */
  check(advanced: boolean): void;
}

export class HeadSubscription implements NewHeads {
  private readonly listeners = new Set<(block: bigint) => void>();
  private conn: Promise<RpcClient | undefined> | undefined;
  private generation = 0;
  private closed = false;
  private openedAt = 0;
  private lastHeadAt = 0;

  constructor(
    private readonly wsUrl: string,
    private readonly log: Logger,
  ) {}

  onHead(fn: (block: bigint) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Opens the socket and subscribes (again: the previous socket is closed first). Never throws: failures leave polling alone. */
  start(): void {
    if (this.closed) return;
    const gen = ++this.generation;
    const prev = this.conn;
    this.openedAt = Date.now();
    this.conn = (async () => {
      await prev?.then(end);
      if (gen !== this.generation) return undefined;
      let rpc: RpcClient;
      try {
        rpc = await getWebSocketRpcClient(this.wsUrl, { keepAlive: false, reconnect: false });
      } catch (err) {
        this.log.warn({ err: shortError(err), wsUrl: this.wsUrl }, 'chain: cannot open the WebSocket for new heads; polling only (tried again while polling sees blocks)');
        return undefined;
      }
      if (gen !== this.generation) {
        end(rpc);
        return undefined;
      }
      rpc.request({
        body: { method: 'eth_subscribe', params: ['newHeads'] },
        onResponse: (msg: { method?: string; error?: { message?: string }; params?: { result?: { number?: Hex } } }) => {
          if (msg.error) this.log.warn({ err: msg.error.message, wsUrl: this.wsUrl }, 'chain: the node refused the new-head subscription; polling only');
          const n = msg.method === 'eth_subscription' ? msg.params?.result?.number : undefined;
          if (n === undefined || gen !== this.generation) return;
          this.lastHeadAt = Date.now();
          const block = hexToBigInt(n);
          for (const fn of this.listeners) fn(block);
        },
        onError: (err) => this.log.debug({ err: shortError(err), wsUrl: this.wsUrl }, 'chain: new-head subscription error (polling continues)'),
      });
      return rpc;
    })();
  }

  check(advanced: boolean): void {
    if (!advanced || this.closed) return;
    if (Date.now() - Math.max(this.lastHeadAt, this.openedAt) < STALE_MS) return;
    this.log.info({ wsUrl: this.wsUrl }, 'chain: no new head over the WebSocket while polling sees blocks; subscribing again');
    this.start();
  }

  /** Ends the subscription and its socket (a connection being opened is ended once open). */
  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    this.listeners.clear();
    const c = this.conn;
    this.conn = undefined;
    end(await c);
  }
}

/** viem's close (its own state, the shared cache entry), then the TCP socket at once: no closing handshake left waiting on a timer. */
function end(rpc: RpcClient | undefined): void {
  if (!rpc) return;
  try {
    rpc.close();
  } catch {
    // already closed
  }
  (rpc.socket as unknown as { terminate?: () => void }).terminate?.();
}
