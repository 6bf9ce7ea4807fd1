// heads.ts - the optional websocket subscription to new heads: each one
// triggers a poll at once (polling continues regardless).
import { createPublicClient, webSocket } from 'viem';
import type { Logger } from 'pino';

import { shortError } from './errors.js';

/** A websocket subscription silent this long while polling sees blocks is opened again. */
const WS_STALE_MS = 30_000;

/**
 * New heads over websocket call `onHead`. viem's own reconnect is off (it
 * prints to the console); instead, when polling sees new blocks but the
 * subscription has been silent for WS_STALE_MS, it is opened again (check()).
 */
export class HeadWatcher {
  private unwatch: (() => void) | undefined;
  private wsStartedAt = 0;
  private lastWsHeadAt = 0;

  /** `owner` names the subscriber in logs and keys its own socket (e.g. `txpipeline-0xabc...`, `supervisor`). */
  constructor(
    private readonly wsUrl: string,
    private readonly owner: string,
    private readonly log: Logger,
    private readonly onHead: () => void,
  ) {}

  start(): void {
    this.unwatch?.();
    this.wsStartedAt = Date.now();
    try {
      // Own socket (key): closing it leaves other websocket clients of the process alone.
      const transport = webSocket(this.wsUrl, { key: `gridlink-${this.owner}`, reconnect: false, retryCount: 0 });
      const client = createPublicClient({ transport });
      const unwatch = client.watchBlockNumber({
        emitOnBegin: false,
        onBlockNumber: () => {
          this.lastWsHeadAt = Date.now();
          this.onHead();
        },
        onError: (err) => this.log.debug({ err: shortError(err) }, `${this.owner}: websocket head subscription error (polling continues)`),
      });
      this.unwatch = () => {
        unwatch();
        void client.transport.getRpcClient().then((c) => c.close(), () => undefined);
      };
    } catch (err) {
      this.log.warn({ err: shortError(err), wsUrl: this.wsUrl }, `${this.owner}: cannot subscribe to new heads; polling only`);
    }
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** After a poll: subscribes again when polling advanced but no head came over the websocket for WS_STALE_MS. */
  check(advanced: boolean): void {
    if (!advanced) return;
    if (Date.now() - Math.max(this.lastWsHeadAt, this.wsStartedAt) < WS_STALE_MS) return;
    this.log.info({ wsUrl: this.wsUrl }, `${this.owner}: no new head over the websocket while polling sees blocks; subscribing again`);
    this.start();
  }
}
